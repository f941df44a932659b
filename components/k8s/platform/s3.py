"""What a backup writer's pods are given to reach the handle's S3 store: pure functions of its `S3Client`."""

from components.handle import ACCESS_KEY_ID_KEY, SECRET_ACCESS_KEY_KEY, S3Client

from ..pods import Obj, secret_env, tcp_ports

ES_CLIENT = "s3.client.default"  # the client an Elasticsearch s3 repository uses unless it names another


def egress(client: S3Client) -> Obj:
    """The store has no fixed in-cluster address: its port, anywhere (AWS: HTTPS to S3 and STS)."""
    return {"ports": tcp_ports(client.port)}


def cli_env(client: S3Client) -> list[Obj]:
    """The AWS CLI's environment: endpoint, region and an access key from the store's Secret, when it is not AWS's S3."""
    env: list[Obj] = []
    if client.endpoint is not None:
        env.append({"name": "AWS_ENDPOINT_URL", "value": client.endpoint})
    if client.region is not None:
        env.append({"name": "AWS_REGION", "value": client.region})
    if client.credentials_secret is not None:
        env += [
            secret_env("AWS_ACCESS_KEY_ID", client.credentials_secret, ACCESS_KEY_ID_KEY),
            secret_env("AWS_SECRET_ACCESS_KEY", client.credentials_secret, SECRET_ACCESS_KEY_KEY),
        ]
    return env


def cli_setup(client: S3Client) -> str:
    """Shell run before `aws s3`: S3-compatible stores address buckets in the path (the CLI has no variable for it)."""
    return "aws configure set default.s3.addressing_style path && " if client.path_style else ""


def elasticsearch_config(client: S3Client) -> dict[str, object]:
    """elasticsearch.yml settings of the default S3 client (8.x client settings `endpoint`, `protocol`,
    `path_style_access`: repository-s3 docs, "Client settings"); none for AWS's S3."""
    if client.endpoint is None:
        return {}
    return {
        f"{ES_CLIENT}.endpoint": client.endpoint.removeprefix("https://"),
        f"{ES_CLIENT}.protocol": "https",
        f"{ES_CLIENT}.path_style_access": client.path_style,
    }


def elasticsearch_secure_settings(client: S3Client) -> list[Obj]:
    """ECK `secureSettings`: the access key into the Elasticsearch keystore as the default client's credentials."""
    if client.credentials_secret is None:
        return []
    entries = [
        {"key": ACCESS_KEY_ID_KEY, "path": f"{ES_CLIENT}.access_key"},
        {"key": SECRET_ACCESS_KEY_KEY, "path": f"{ES_CLIENT}.secret_key"},
    ]
    return [{"secretName": client.credentials_secret, "entries": entries}]
