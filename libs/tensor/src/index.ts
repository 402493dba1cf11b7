// The curated public surface of @patchwork/tensor.
