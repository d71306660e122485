"""STF extraction on ONNX Runtime (no torch): result model, baselines, the extractor."""
