"""``python -m infer`` (``make predict-api``): predict a split through an OpenAI-compatible chat-completions endpoint.

The fast path for large splits: serve the model with vLLM (``llamafactory-cli api yaml_configs/chat/<recipe>.yaml
infer_backend=vllm``, or ``vllm serve BASE --enable-lora --lora-modules NAME=saves/<recipe> --max-lora-rank 16``)
and send every prompt concurrently. LLaMA-Factory's own vLLM batch script is not in its wheel; this client needs
nothing beyond httpx and tqdm (both installed with LLaMA-Factory).

What it sends. The prompt of an alpaca record is built exactly as LLaMA-Factory's alpaca converter builds it,
``instruction + "\\n" + input`` (either part left out when empty), and goes out as one user message (plus an
optional ``--system`` message); the server applies the chat template. Decoding is greedy: ``temperature: 0``.
LLaMA-Factory's api passes it to every engine: the huggingface engine turns a zero temperature into
``do_sample=False`` and the vllm / sglang engines treat 0 as greedy (they ignore ``do_sample``); ``vllm serve`` does
the same. Hybrid Qwen3 models served by plain ``vllm serve`` need thinking switched off in the request, as the
recipes do in training: ``{"chat_template_kwargs": {"enable_thinking": false}}`` is added to each request when the
recipe of ``--name`` has ``enable_thinking: false`` (``--extra-body`` replaces it; LLaMA-Factory's api takes the
setting from its yaml instead and ignores the unknown field).

What it writes. ``generated_predictions.jsonl`` in dataset order, one ``{"prompt", "predict", "label"}`` object a
line, like LLaMA-Factory's ``do_predict`` output, except that ``prompt`` is the plain prompt above, whereas
LLaMA-Factory writes the decoded *templated* prompt (chat markup, system prompt, empty think block). ``label`` is the
record's ``output`` (``""`` on the unlabelled test split). Default path:
``saves/<name>/predict_<split>_api/generated_predictions.jsonl``.

Resuming. Each answer is appended to a sidecar ``generated_predictions.progress.jsonl`` as it arrives (one JSON line
with the dataset index and a hash of its prompt, written with one ``write`` and fsynced). A rerun with the same
arguments skips the indices already there, so an interrupted run (Ctrl-C, a crash, a killed job, a server that
went away) loses at most the requests in flight and never duplicates one. The final file is written, atomically
(temp file + rename), only when every index is done; a rerun after that rewrites the same file without a request.
The progress file records the model, max tokens, system prompt and extra body: resuming with different ones is an
error (``--restart`` discards the progress). A corrupt progress line is an error naming file and line; an
incomplete last line (a write cut by a crash) is dropped and redone.

Errors. Connection errors, timeouts, HTTP 429 and 5xx are retried with exponential backoff and jitter (honouring
``Retry-After``); any other HTTP error stops the run at once. Either way what was done is kept. Retries are for a
server that was answering: nothing listening at ``--base-url`` is one line at once, saying how to start a server
(``make api`` / ``make serve-vllm``). Every argument, the dataset and every output path (not a folder, in a place
where a file can be created) are checked before the first request. A full disk stops the run with one line naming
the file; the progress file keeps whole lines only, so the rerun resumes exactly. Ctrl-C stops at once (requests in
flight are dropped, to be asked again by the rerun; exit 130); a second Ctrl-C while it stops exits on the spot.

The API key comes from the environment only: ``API_KEY`` (what ``llamafactory-cli api`` checks), else
``OPENAI_API_KEY``.

Usage::

    python -m infer --name qwen3_0.6b_lora_sft --split dev \\
        [--base-url http://127.0.0.1:8000/v1] [--model NAME] [--concurrency 16] [--max-tokens 128]
    python -m infer --dataset data/my_file.json --output out/generated_predictions.jsonl

With ``--name`` the recipe's files in yaml_configs/ give the defaults: the dataset of ``--split`` in the recipe's
prompt variant (``cluener_guided_dev`` for a guided recipe), ``max_tokens`` = the predict recipe's
``max_new_tokens``, and, for a recipe with ``enable_thinking: false``, the extra body that switches thinking off.

Modules, one job each: ``records`` (the alpaca reader), ``journal`` (the progress file and resume), ``client``
(HTTP requests and retries, the model to ask for), ``runner`` (the thread loop, the final file, Ctrl-C), ``recipe``
(what a recipe says about prediction), ``job`` (one prediction job from its arguments: dataset, output, client,
model, run, closing lines, exit status), ``__main__`` (the CLI: argument parsing only). Names and default paths come
from :mod:`cluener.layout`, the prompt from :func:`cluener.prompts.build_prompt`.
"""
