"""A sentence-transformers model whose transformer runs on ONNX Runtime, in fp32 or int8.

Only the transformer is swapped: tokenizing, prompts, pooling and normalizing stay the model's own,
so the vectors are those of PyTorch up to rounding (fp32) or quantization (int8).

Two choices come from measurement on 2 cores (all-MiniLM-L6-v2, chunks of the PostgreSQL manual):
- The export uses the model's eager attention. The default (SDPA) exports masking as Where and
  IsNaN over every attention score, which took a third of ONNX Runtime's time.
- ONNX Runtime reads two texts per call, each call cut to its longest text: length-sorted batches of
  32 padded to their longest text ran at 43 chunks/s in int8, pairs at 85.
"""

import hashlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .onnx_models import Export, cached_export, export_key, onnx_session, published_file

ROWS_PER_RUN = 2
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


class OnnxTransformer(torch.nn.Module):
    """Stands in for a Hugging Face encoder inside a SentenceTransformer: same inputs, and the
    ``last_hidden_state`` output that pooling reads."""

    def __init__(self, path: Path, config: Any, threads: int = 0) -> None:
        super().__init__()
        self.config = config  # sentence-transformers reads it (hidden size, output options)
        self.path = path
        self.session = onnx_session(path, threads)
        self._inputs = {i.name for i in self.session.get_inputs()}

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def forward(self, **features: Any) -> dict[str, torch.Tensor]:
        given = {
            name: features[name].numpy().astype(np.int64) for name in INPUTS if name in features
        }
        mask = given["attention_mask"]
        if not len(mask):
            raise ValueError("no texts to embed")
        lengths = mask.sum(axis=1)
        hidden = np.zeros((*mask.shape, self.config.hidden_size), dtype=np.float32)
        for start in range(0, len(mask), ROWS_PER_RUN):
            rows = slice(start, start + ROWS_PER_RUN)
            longest = int(lengths[rows].max())
            # Texts are padded on the right to the batch's longest: a run is cut to its own longest.
            width = mask.shape[1] if mask[rows, longest:].any() else longest
            feed = {
                name: value[rows, :width] for name, value in given.items() if name in self._inputs
            }
            hidden[rows, :width] = self.session.run(None, feed)[0]
        return {"last_hidden_state": torch.from_numpy(hidden)}


def use_onnx(model: Any, backend: str, cache_dir: Path, threads: int = 0) -> Path:
    """Run ``model``'s (a SentenceTransformer's) transformer on ONNX Runtime with ``backend``
    (``onnx`` or ``onnx-int8``); returns the ONNX file it runs. The PyTorch weights are let go."""
    transformer = model[0]
    encoder = transformer.model
    source = str(encoder.name_or_path or "model")
    path = published_file(source, backend)
    if path is None:
        key = export_key(source, weights_digest(encoder), backend)
        path = cached_export(cache_dir, source, key, backend, exporter(encoder, backend))
    transformer.model = OnnxTransformer(path, encoder.config, threads)
    return path


def weights_digest(encoder: torch.nn.Module) -> str:
    """A digest of the weights: a fine-tuned model saved under the same name is exported anew."""
    digest = hashlib.sha256()
    for name, tensor in encoder.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def exporter(encoder: Any, backend: str) -> Export:
    def export(folder: Path) -> None:
        fp32 = folder / ("fp32.onnx" if backend == "onnx-int8" else "model.onnx")
        export_fp32(encoder, fp32)
        if backend == "onnx-int8":
            quantize_int8(fp32, folder / "model.onnx")
            fp32.unlink()

    return export


def export_fp32(encoder: Any, path: Path) -> None:
    """The encoder as an ONNX graph, dynamic in batch size and length."""
    previous = encoder.config._attn_implementation
    encoder.set_attn_implementation("eager")
    try:
        names = [n for n in INPUTS if n != "token_type_ids" or encoder.config.type_vocab_size > 0]
        example = tuple(torch.ones((1, 8), dtype=torch.long) for _ in names)
        wrapped = _Outputs(encoder, names).eval()
        axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
        # The tracer warns of every Python branch on shapes; those of BERT are safe to trace.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped,
                example,
                str(path),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,  # the TorchScript exporter: the dynamo one needs onnxscript
            )
    finally:
        encoder.set_attn_implementation(previous)


def quantize_int8(fp32: Path, path: Path) -> None:
    """Dynamic int8: weights quantized per output channel (per tensor, cosines with fp32 fell to
    0.89 on some texts; per channel the lowest was 0.987), activations at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel=True)


class _Outputs(torch.nn.Module):
    """The encoder with positional inputs and only the last hidden state out, as the exporter wants."""

    def __init__(self, encoder: torch.nn.Module, names: list[str]) -> None:
        super().__init__()
        self.encoder = encoder
        self.names = names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        output = self.encoder(**dict(zip(self.names, inputs, strict=True)), return_dict=True)
        return output.last_hidden_state
