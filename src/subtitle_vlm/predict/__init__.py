"""Batch reading of frames with any engine into the Kaggle CSV: resumable, sharded across processes."""
