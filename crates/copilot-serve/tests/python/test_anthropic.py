"""The official `anthropic` Python client against `copilot-rs --mock serve`.

Run by `cargo xtask test` (xtask/src/python.rs), which starts the gateway and sets COPILOT_SERVE_URL and
COPILOT_SERVE_KEY. A response the client cannot parse fails the test: its parser is the oracle.
"""

import os
import unittest

import anthropic

BASE = os.environ["COPILOT_SERVE_URL"]
KEY = os.environ["COPILOT_SERVE_KEY"]

TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
    {
        "name": "get_time",
        "description": "Local time in a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
]


def client(**kwargs):
    return anthropic.Anthropic(base_url=BASE, api_key=KEY, max_retries=0, **kwargs)


class Messages(unittest.TestCase):
    def test_non_streamed(self):
        message = client().messages.create(
            model="claude-sonnet-4.5",
            max_tokens=256,
            system="Be brief.",
            messages=[{"role": "user", "content": "Hello from anthropic-python"}],
        )
        self.assertEqual(message.type, "message")
        self.assertEqual(message.stop_reason, "end_turn")
        self.assertIn("Hello from anthropic-python", message.content[0].text)
        self.assertGreater(message.usage.output_tokens, 0)

    def test_stream_helper_text(self):
        with client().messages.stream(
            model="gpt-4.1",
            max_tokens=256,
            messages=[{"role": "user", "content": "Stream to anthropic-python"}],
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        self.assertIn("Stream to anthropic-python", text)
        self.assertEqual(final.content[0].text, text)
        self.assertEqual(final.stop_reason, "end_turn")
        self.assertGreater(final.usage.output_tokens, 0)

    def test_stream_helper_tool_use_and_result(self):
        c = client()
        question = {"role": "user", "content": "Use get_weather and get_time for Paris"}
        with c.messages.stream(
            model="claude-sonnet-4.5", max_tokens=512, tools=TOOLS, messages=[question]
        ) as stream:
            final = stream.get_final_message()
        uses = [b for b in final.content if b.type == "tool_use"]
        self.assertEqual([u.name for u in uses], ["get_weather", "get_time"])
        self.assertIn("city", uses[0].input)
        self.assertEqual(final.stop_reason, "tool_use")
        follow = c.messages.create(
            model="claude-sonnet-4.5",
            max_tokens=512,
            tools=TOOLS,
            messages=[
                question,
                {"role": "assistant", "content": final.content},
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": uses[0].id, "content": "sunny"},
                        {"type": "tool_result", "tool_use_id": uses[1].id, "content": "noon"},
                    ],
                },
            ],
        )
        self.assertIn("sunny", follow.content[0].text)

    def test_thinking_stream(self):
        with client().messages.stream(
            model="claude-sonnet-4.5",
            max_tokens=4000,
            thinking={"type": "enabled", "budget_tokens": 2048},
            messages=[{"role": "user", "content": "Think about why the sky is blue"}],
        ) as stream:
            kinds = [e.type for e in stream]
            final = stream.get_final_message()
        self.assertIn("thinking", kinds)
        self.assertEqual(final.content[0].type, "thinking")
        self.assertTrue(final.content[0].thinking)
        self.assertTrue(final.content[0].signature)
        self.assertEqual(final.content[1].type, "text")

    def test_image_input(self):
        message = client().messages.create(
            model="claude-sonnet-4.5",
            max_tokens=100,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                        },
                        {"type": "text", "text": "Describe the image"},
                    ],
                }
            ],
        )
        self.assertIn("Describe the image", message.content[0].text)

    def test_count_tokens(self):
        count = client().messages.count_tokens(
            model="claude-sonnet-4.5", messages=[{"role": "user", "content": "How many tokens is this?"}]
        )
        self.assertGreater(count.input_tokens, 0)

    def test_dated_model_name(self):
        raw = client().messages.with_raw_response.create(
            model="claude-sonnet-4-5-20250929",
            max_tokens=32,
            messages=[{"role": "user", "content": "hi"}],
        )
        self.assertEqual(raw.headers["x-copilot-model"], "claude-sonnet-4.5")
        self.assertEqual(raw.parse().type, "message")

    def test_models_list(self):
        ids = [m.id for m in client().models.list()]
        self.assertIn("claude-sonnet-4.5", ids)

    def test_wrong_key_is_an_authentication_error(self):
        bad = anthropic.Anthropic(base_url=BASE, api_key="sk-wrong-0000000000000000", max_retries=0)
        with self.assertRaises(anthropic.AuthenticationError) as raised:
            bad.messages.create(model="gpt-4.1", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
        self.assertEqual(raised.exception.status_code, 401)

    def test_unknown_model_is_a_bad_request(self):
        with self.assertRaises(anthropic.BadRequestError):
            client().messages.create(
                model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
            )


if __name__ == "__main__":
    unittest.main()
