"""Hunyuan-MT's chat format as a Jinja2 chat template.

Conversations render the way Hunyuan-MT's template renders them: a user turn is `<|startoftext|>TEXT<|extra_0|>`,
a system turn `<|startoftext|>TEXT<|extra_4|>` (then the first user turn follows without a second
`<|startoftext|>`), an assistant turn `TEXT<|eos|>`. The model answers right after `<|extra_0|>`, so a generation
prompt adds nothing.
"""

from __future__ import annotations

from hymt.rehearsal.spec import BOS_TOKEN, EOS_TOKEN, SYSTEM_END_TOKEN, USER_END_TOKEN

# Written for transformers' and vLLM's renderer (a sandboxed Jinja2 with trim_blocks and lstrip_blocks); every tag
# strips whitespace, so the output is exactly the tokens and the messages' text.
CHAT_TEMPLATE = (
    "{%- set state = namespace(after_system=false) -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}"
    "{%- if not loop.first -%}{{- raise_exception('Hunyuan-MT accepts a system message only as the first one') -}}"
    "{%- endif -%}"
    "{{- '" + BOS_TOKEN + "' + message['content'] + '" + SYSTEM_END_TOKEN + "' -}}"
    "{%- set state.after_system = true -%}"
    "{%- elif message['role'] == 'user' -%}"
    "{%- if not state.after_system -%}{{- '" + BOS_TOKEN + "' -}}{%- endif -%}"
    "{{- message['content'] + '" + USER_END_TOKEN + "' -}}"
    "{%- set state.after_system = false -%}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{- message['content'] + '" + EOS_TOKEN + "' -}}"
    "{%- else -%}"
    "{{- raise_exception('Hunyuan-MT has no ' + message['role'] + ' role; use system, user or assistant') -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
)
