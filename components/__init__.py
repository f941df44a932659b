"""One ComponentResource per concern. Each takes a typed args object and parents every child to itself."""
