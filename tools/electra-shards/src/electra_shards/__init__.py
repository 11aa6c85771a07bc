"""electra_shards: electra-swift's shards (data/FORMAT.md) in Python, with electra-train's
exact batches, for PyTorch (DDP, DataLoader workers) and the HuggingFace Trainer.

>>> from electra_shards import MaskedBatches
>>> batches = MaskedBatches("data", batch_size=128, seed=0)
>>> batch = batches.batch(0)     # electra-train's first global batch, byte for byte
"""
from .masking import MaskedBatch, MaskingOptions, SpecialIds
from .reader import Frame, FrameSequences, ShardDirectory, ShardError
from .stream import MaskedBatches, SequenceStream, held_out_frames

__all__ = ["Frame", "FrameSequences", "MaskedBatch", "MaskedBatches", "MaskingOptions", "SequenceStream",
           "ShardDirectory", "ShardError", "SpecialIds", "held_out_frames"]
__version__ = "0.1.0"
