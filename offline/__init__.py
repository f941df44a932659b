"""Running the real program without a cloud: the mock kit, the recording monitor and the offline preview."""
