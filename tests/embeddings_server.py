"""A minimal OpenAI-compatible embeddings server: POST /v1/embeddings with a sentence-transformers model.

The template's tests run it on loopback so that generated projects with ``embeddings=openai`` embed
through the real OpenAI client and API shape, with the real all-MiniLM-L6-v2 behind it.
Run it with an interpreter that has sentence-transformers:

    python embeddings_server.py MODEL_PATH MODEL_NAME PORT
"""

import base64
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
from sentence_transformers import SentenceTransformer


def serve(model_path: str, model_name: str, port: int) -> None:
    model = SentenceTransformer(model_path, device="cpu")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the readiness probe
            self._reply(200, {"object": "list", "data": [{"id": model_name, "object": "model"}]})

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/embeddings":
                self._reply(404, {"error": {"message": f"no route {self.path}"}})
                return
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            texts = request["input"] if isinstance(request["input"], list) else [request["input"]]
            vectors = model.encode(texts, normalize_embeddings=True).astype(np.float32)
            as_base64 = request.get("encoding_format") == "base64"  # what OpenAI's client asks for
            data = [
                {
                    "object": "embedding",
                    "index": index,
                    "embedding": base64.b64encode(vector.tobytes()).decode()
                    if as_base64
                    else vector.tolist(),
                }
                for index, vector in enumerate(vectors)
            ]
            usage = {"prompt_tokens": 0, "total_tokens": 0}
            self._reply(200, {"object": "list", "data": data, "model": model_name, "usage": usage})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the tests read only the answers

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]))
