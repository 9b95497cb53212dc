"""A visitor of the web UI as a browser speaks to it, for the scripts that send it traffic."""

import json
import time
import uuid

import httpx


class Visitor:
    """One visitor's browser tab, speaking Gradio's queue protocol (join, then read the event stream)
    over one kept-alive connection. The load comes from the same cores it measures: this client takes
    a fraction of gradio_client's CPU time per question, leaving the rest to the UI."""

    def __init__(self, url: str, address: str | None = None) -> None:
        self.url = url
        # Behind a trusted proxy (the UI trusts 127.0.0.1 by default), the address the visitor is
        # counted as: its limits, its ratings, and who asked.
        headers = {"X-Forwarded-For": address} if address else {}
        self.http = httpx.Client(timeout=120, headers=headers)
        response = self.http.get(f"{url}config")
        if response.status_code == 401:
            raise RuntimeError(f"the UI at {url} lets only signed-in people in")
        config = response.raise_for_status().json()
        self.ask_fn = next(
            i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == "ask"
        )
        self.session = uuid.uuid4().hex
        self.last_answer = ""  # as the UI showed it

    def ask(self, question: str) -> float:
        """Seconds until the whole answer came; an answer without sources is an error."""
        started = time.perf_counter()
        body = {
            "data": [question, [], None],  # the question, an empty chat, the conversation's state
            "fn_index": self.ask_fn,
            "session_hash": self.session,
            "event_data": None,
            "trigger_id": None,
        }
        self.http.post(f"{self.url}gradio_api/queue/join", json=body).raise_for_status()
        params = {"session_hash": self.session}
        with self.http.stream("GET", f"{self.url}gradio_api/queue/data", params=params) as events:
            for line in events.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "process_completed":
                    chat = (message.get("output") or {}).get("data", [[]])[0]
                    self.last_answer = str(chat[-1].get("content", "")) if chat else ""
                    if not message.get("success") or "Sources" not in self.last_answer:
                        raise RuntimeError(f"no answer with sources: {message}")
                    return time.perf_counter() - started
        raise RuntimeError("the event stream ended before the answer")
