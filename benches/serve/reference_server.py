"""The Python reference for the serving benchmark: the same job as `cargo run --release --example
serve`, in FastAPI + uvicorn + numpy.

POST /v2/models/mnist/infer takes a KServe v2 request (flat or nested FP32 data of shape [N, 784]),
checks it as the Rust server does (shape against data, 784 values per sample, numbers only, finite
in float32), runs the 784-64-10 network (ReLU, softmax) with numpy from the same safetensors file
and answers KServe v2 JSON. Refusals are 400s with {"error": ...}.

    WEIGHTS=m.safetensors uvicorn reference_server:app --host 127.0.0.1 --port 8081 --workers 2

It parses the body with the standard library's json and writes the response itself rather than
through pydantic models and FastAPI's encoder: the quicker way to write this in FastAPI, so the
comparison is with a reasonable Python server, not a slow one.
"""

import json
import os

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import Response
from safetensors.numpy import load_file

WIDTH = 784
_weights = load_file(os.environ.get("WEIGHTS", "m.safetensors"))
W1 = np.ascontiguousarray(_weights["hidden.weight"].T, dtype=np.float32)  # [784, 64]
B1 = _weights["hidden.bias"].astype(np.float32)
W2 = np.ascontiguousarray(_weights["out.weight"].T, dtype=np.float32)  # [64, 10]
B2 = _weights["out.bias"].astype(np.float32)

app = FastAPI()


class BadRequest(Exception):
    pass


def _no_constants(name):
    # json.loads accepts NaN and Infinity, which are not JSON.
    raise BadRequest(f"malformed JSON: {name} is not a number")


def forward(x):
    h = np.maximum(x @ W1 + B1, 0.0)
    z = h @ W2 + B2
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def error(status, message):
    return Response(json.dumps({"error": message}), status_code=status, media_type="application/json")


def parse(body):
    try:
        req = json.loads(body, parse_constant=_no_constants)
    except ValueError as e:
        raise BadRequest(f"malformed JSON: {e}")
    if not isinstance(req, dict) or not isinstance(req.get("inputs"), list):
        raise BadRequest("invalid request: missing field `inputs`")
    inputs = req["inputs"]
    if len(inputs) != 1:
        raise BadRequest("send exactly one input named 'input'")
    t = inputs[0]
    if not isinstance(t, dict) or t.get("name") != "input" or t.get("datatype") != "FP32":
        raise BadRequest("the input is 'input', FP32")
    shape = t.get("shape")
    if not (isinstance(shape, list) and len(shape) == 2 and shape[1] == WIDTH and isinstance(shape[0], int) and shape[0] > 0):
        raise BadRequest(f"shape {shape} does not hold samples of {WIDTH} values: the model takes [N, {WIDTH}]")
    try:
        with np.errstate(over="ignore"):
            x = np.asarray(t.get("data"), dtype=np.float32)
    except (ValueError, TypeError) as e:
        raise BadRequest(f"data must be numbers: {e}")
    if x.size != shape[0] * WIDTH:
        raise BadRequest(f"shape {shape} holds {shape[0] * WIDTH} values but 'data' has {x.size}")
    if not np.isfinite(x).all():
        raise BadRequest("a value does not fit in FP32")
    return req.get("id"), x.reshape(shape[0], WIDTH)


@app.get("/v2/health/ready")
async def ready():
    return {"ready": True}


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request):
    if name != "mnist":
        return error(404, f"unknown model '{name}'; this server serves 'mnist'")
    try:
        rid, x = parse(await request.body())
    except BadRequest as e:
        return error(400, str(e))
    y = forward(x)
    answer = {
        "model_name": "mnist",
        "model_version": "1",
        "outputs": [{"name": "output", "datatype": "FP32", "shape": list(y.shape), "data": y.ravel().tolist()}],
    }
    if rid is not None:
        answer["id"] = rid
    return Response(json.dumps(answer), media_type="application/json")
