"""The official `openai` Python client against `copilot-rs --mock serve`.

Run by `cargo xtask test` (xtask/src/python.rs), which starts the gateway and sets COPILOT_SERVE_URL and
COPILOT_SERVE_KEY. A response the client cannot parse fails the test: its parser is the oracle.
"""

import json
import os
import unittest

import urllib.error
import urllib.request
import openai
from pydantic import BaseModel

BASE = os.environ["COPILOT_SERVE_URL"]
KEY = os.environ["COPILOT_SERVE_KEY"]

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Local time in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def client(**kwargs):
    return openai.OpenAI(base_url=BASE + "/v1", api_key=KEY, max_retries=0, **kwargs)


class Answer(BaseModel):
    answer: str
    confidence: int


class Chat(unittest.TestCase):
    def test_non_streamed(self):
        completion = client().chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "Hello from openai-python"}]
        )
        self.assertEqual(completion.object, "chat.completion")
        self.assertIn("Hello from openai-python", completion.choices[0].message.content)
        self.assertEqual(completion.choices[0].finish_reason, "stop")
        self.assertGreater(completion.usage.total_tokens, 0)

    def test_streamed_with_usage(self):
        stream = client().chat.completions.create(
            model="gpt-4.1",
            messages=[{"role": "user", "content": "Stream to python"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text, usage, finish = "", None, None
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
        self.assertIn("Stream to python", text)
        self.assertEqual(finish, "stop")
        self.assertGreater(usage.completion_tokens, 0)

    def test_stream_helper_accumulates_two_claude_tool_calls(self):
        # Copilot's Claude streams put both calls at index 0; the helper accumulates by index.
        with client().chat.completions.stream(
            model="claude-sonnet-4.5",
            messages=[{"role": "user", "content": "Use get_weather and get_time for Paris"}],
            tools=[WEATHER, TIME],
        ) as stream:
            for _ in stream:
                pass
            final = stream.get_final_completion()
        calls = final.choices[0].message.tool_calls
        self.assertEqual([c.function.name for c in calls], ["get_weather", "get_time"])
        self.assertEqual(len({c.id for c in calls}), 2)
        for call in calls:
            self.assertIn("city", json.loads(call.function.arguments))
        self.assertEqual(final.choices[0].finish_reason, "tool_calls")

    def test_tool_result_round_trip(self):
        c = client()
        first = c.chat.completions.create(
            model="gpt-4.1",
            messages=[{"role": "user", "content": "Use get_weather for Oslo"}],
            tools=[WEATHER],
        )
        call = first.choices[0].message.tool_calls[0]
        second = c.chat.completions.create(
            model="gpt-4.1",
            tools=[WEATHER],
            messages=[
                {"role": "user", "content": "Use get_weather for Oslo"},
                first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": "cold and clear"},
            ],
        )
        self.assertIn("cold and clear", second.choices[0].message.content)

    def test_structured_output_parses(self):
        parsed = client().chat.completions.parse(
            model="gpt-4.1",
            messages=[{"role": "user", "content": "Answer with confidence"}],
            response_format=Answer,
        )
        answer = parsed.choices[0].message.parsed
        self.assertIsInstance(answer, Answer)

    def test_responses_only_model_through_chat(self):
        completion = client().chat.completions.create(
            model="gpt-5.3-codex", messages=[{"role": "user", "content": "Hi codex via chat"}]
        )
        self.assertIn("Hi codex via chat", completion.choices[0].message.content)

    def test_dated_model_name_is_mapped(self):
        raw = client().chat.completions.with_raw_response.create(
            model="claude-sonnet-4-5-20250929", messages=[{"role": "user", "content": "hi"}]
        )
        self.assertEqual(raw.headers["x-copilot-model"], "claude-sonnet-4.5")
        self.assertIn("hi", raw.parse().choices[0].message.content)


class Responses(unittest.TestCase):
    def test_non_streamed(self):
        response = client().responses.create(model="gpt-5.4", input="Hello responses")
        self.assertEqual(response.status, "completed")
        self.assertIn("Hello responses", response.output_text)

    def test_stream_helper(self):
        with client().responses.stream(model="gpt-5.4", input="Stream responses to python") as stream:
            deltas = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
            final = stream.get_final_response()
        self.assertIn("Stream responses to python", deltas)
        self.assertEqual(final.output_text, deltas)
        self.assertGreater(final.usage.output_tokens, 0)

    def test_chat_only_model_through_responses_with_a_tool(self):
        tools = [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ]
        stream = client().responses.create(
            model="gemini-3.5-flash", input="Use get_weather for Rome", tools=tools, stream=True
        )
        events = list(stream)
        self.assertEqual(events[0].type, "response.created")
        self.assertEqual(events[-1].type, "response.completed")
        calls = [o for o in events[-1].response.output if o.type == "function_call"]
        self.assertEqual(calls[0].name, "get_weather")
        follow = client().responses.create(
            model="gemini-3.5-flash",
            tools=tools,
            input=[
                {"role": "user", "content": "Use get_weather for Rome"},
                {
                    "type": "function_call",
                    "call_id": calls[0].call_id,
                    "name": "get_weather",
                    "arguments": calls[0].arguments,
                },
                {"type": "function_call_output", "call_id": calls[0].call_id, "output": "warm"},
            ],
        )
        self.assertIn("warm", follow.output_text)


class Other(unittest.TestCase):
    def test_embeddings_default_base64_and_float(self):
        c = client()
        default = c.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])
        self.assertEqual(len(default.data), 2)
        self.assertIsInstance(default.data[0].embedding[0], float)
        floats = c.embeddings.create(
            model="text-embedding-3-small", input="alpha", encoding_format="float"
        )
        for a, b in zip(default.data[0].embedding, floats.data[0].embedding):
            self.assertAlmostEqual(a, b, places=6)

    def test_models(self):
        ids = [m.id for m in client().models.list()]
        self.assertIn("gpt-4.1", ids)
        self.assertIn("text-embedding-3-small", ids)

    def test_wrong_key_is_an_authentication_error(self):
        bad = openai.OpenAI(base_url=BASE + "/v1", api_key="sk-wrong-0000000000000000", max_retries=0)
        with self.assertRaises(openai.AuthenticationError) as raised:
            bad.models.list()
        self.assertEqual(raised.exception.status_code, 401)
        self.assertEqual(raised.exception.code, "invalid_api_key")

    def test_unknown_model_is_a_bad_request(self):
        with self.assertRaises(openai.BadRequestError) as raised:
            client().chat.completions.create(
                model="no-such-model", messages=[{"role": "user", "content": "hi"}]
            )
        self.assertEqual(raised.exception.code, "model_not_supported")

    def test_compact_is_501(self):
        request = urllib.request.Request(
            BASE + "/v1/responses/compact",
            data=json.dumps({"model": "gpt-5.4", "input": []}).encode(),
            headers={"authorization": "Bearer " + KEY, "content-type": "application/json"},
        )
        with self.assertRaises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request)
        self.assertEqual(raised.exception.code, 501)
        self.assertEqual(json.load(raised.exception)["error"]["code"], "unsupported_endpoint")


if __name__ == "__main__":
    unittest.main()
