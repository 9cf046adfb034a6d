#!/usr/bin/env bash
# Serve LearnLoop's model with vLLM on a GPU machine: the production twin of
# `learnloop serve-inference`. vLLM pins its own torch and transformers, so it lives in
# its own virtual environment (deploy/vllm/.venv) or image, never in LearnLoop's.
#
#   MODEL=Qwen/Qwen2.5-7B-Instruct VLLM_API_KEY=... deploy/vllm/launch.sh
#
# Settings (environment):
#   MODEL               HF folder or hub id (default: the converted SmolLM2 folder, for parity)
#   SERVED_NAME         the model name clients send (LEARNLOOP_INFERENCE_MODEL)
#   VLLM_API_KEY        bearer key clients must send (LEARNLOOP_INFERENCE_API_KEY); required
#   PORT                default 8000
#   MAX_LORAS           adapters resident on the GPU at once (default 4)
#   MAX_LORA_RANK       largest adapter rank accepted (default 16; LearnLoop trains r=8/16)
#   LORA_MODULES        space-separated name=path adapters loaded at start (optional)
#   MAX_MODEL_LEN       context length (default 8192)
#   GPU_MEMORY_UTIL     fraction of GPU memory for weights + KV cache (default 0.90)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

MODEL=${MODEL:-${LEARNLOOP_DATA_DIR:-$HOME/.local/share/learnloop}/models/SmolLM2-135M-Instruct}
SERVED_NAME=${SERVED_NAME:-$(basename "$MODEL" | tr '[:upper:]' '[:lower:]')}
PORT=${PORT:-8000}
: "${VLLM_API_KEY:?set VLLM_API_KEY: the server is reachable by every bot and worker}"

venv="$here/.venv"
if [ ! -x "$venv/bin/vllm" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi

# Runtime adapter loading: the fine-tuning job POSTs /v1/load_lora_adapter after its
# evaluation gate passes. Every adapter version goes to a new directory under a new name
# (reloading a path keeps stale prefix-cache blocks).
export VLLM_ALLOW_RUNTIME_LORA_UPDATING=1

args=(
  serve "$MODEL"
  --served-model-name "$SERVED_NAME"
  --host 0.0.0.0 --port "$PORT"
  --api-key "$VLLM_API_KEY"
  --max-model-len "${MAX_MODEL_LEN:-8192}"
  --gpu-memory-utilization "${GPU_MEMORY_UTIL:-0.90}"
  --enable-lora --max-loras "${MAX_LORAS:-4}" --max-lora-rank "${MAX_LORA_RANK:-16}"
  # the backend the embedded server uses too; quizzes ask for disable_any_whitespace per request
  --structured-outputs-config.backend xgrammar
  # prefix caching (on by default) pays off: LearnLoop's system prompt always comes first
  --enable-prefix-caching
)
if [ -n "${LORA_MODULES:-}" ]; then
  # shellcheck disable=SC2206 # word splitting intended: name=path pairs
  args+=(--lora-modules ${LORA_MODULES})
fi
exec "$venv/bin/vllm" "${args[@]}"
