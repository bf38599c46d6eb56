"""The engine's peers: the same greedy decoding in TensorFlow and in ONNX Runtime, for engine_speed.py.

    python benchmarks/peers.py RUNTIME CHECKPOINT TEXTS_JSON [--repeats 5] [--batch 256] [--rows 1024]

RUNTIME is one of
    tf        one `tf.function`: the encoder and a `tf.while_loop` over the decoder step, XLA off;
    tf-xla    the same function with `jit_compile=True`;
    onnx-1    ONNX Runtime, one thread: an encoder graph, then one decoder-step graph run per step
              from a Python greedy loop (`InferenceSession.run` once a step); finished rows leave the
              batch as in the engine;
    onnx-2    the same with two intra-op threads.

Each is what a practitioner would write instead of a hand-made engine, built from the same weights
(the checkpoint's arrays, read without Keras) and fed the same input ids (the Translator's own
padding), so the comparison is of equal work: greedy decoding to END or the length limit, tokens
only. The TensorFlow loop keeps finished rows in the batch (XLA needs fixed shapes) and stops when
every row has ended. Prints one JSON object: the runtime, its versions and threads, batch-1
ms/sentence over TEXTS (best of --repeats), sentences/s over --rows rows in batches of --batch, and
the token ids decoded for each text at batch 1 (engine_speed.py compares them with the engine's).

Run by engine_speed.py in a subprocess of its own per runtime, so that neither TensorFlow's nor ONNX
Runtime's threads share a process with the other timings. Benchmark-only: the peers' packages are in
requirements-dev.txt, and nothing in model/ or the app imports this file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CL_S2S_ENGINE", "numpy")  # the Translator only pads input here: no kernels needed


def keras_lstm(lstm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input rows or kernel, recurrent kernel, bias) in Keras' gate order i, f, g, o, float32."""
    return (np.asarray(lstm.input_table, np.float32), np.asarray(lstm.recurrent_kernel, np.float32),
            np.asarray(lstm.bias, np.float32))


def encoder_layers(weights) -> list[tuple]:
    """[(forward, backward or None)] bottom up; the first layer reads characters, the others vectors."""
    if not weights.has_attention:
        return [(weights.encoder, None)]
    return [(weights.encoder_forward, weights.encoder_backward), *weights.encoder_stack]


def batches(translator, texts: list[str], size: int):
    """(ids, lengths) per batch of `size` texts, padded exactly as the Translator pads them."""
    for begin in range(0, len(texts), size):
        prepared = [translator.prepare(t) for t in texts[begin : begin + size]]
        ids, lengths = translator._encoder_batch(prepared)
        yield ids.astype(np.int64), lengths.astype(np.int64)


# --- TensorFlow ---------------------------------------------------------------------------------------


def tf_decoder(translator, xla: bool):
    """A tf.function (ids, lengths) -> (batch, steps) token ids: encoder, then a while_loop of steps."""
    import tensorflow as tf

    weights, vocab = translator.weights, translator.vocab
    start_id, end_id, max_steps = vocab.start_index, vocab.end_index, vocab.max_decoder_seq_length + 1
    const = lambda a: tf.constant(np.asarray(a, np.float32))  # noqa: E731

    def lstm_run(lstm, inputs, lengths, backwards, vectors):
        """Keras' masked LSTM over (batch, time) ids or (batch, time, features): (outputs, h, c)."""
        table, recurrent, bias = (const(a) for a in keras_lstm(lstm))
        u = recurrent.shape[0]
        batch, time = tf.shape(inputs)[0], tf.shape(inputs)[1]
        if vectors:
            x_all = tf.einsum("btf,fg->btg", inputs, table) + bias
        else:
            x_all = tf.gather(table, inputs) + bias
        h0 = tf.zeros([batch, u])

        def body(i, h, c, out):
            t = time - 1 - i if backwards else i
            z = x_all[:, t] + tf.matmul(h, recurrent)
            gi, gf, gg, go = tf.split(z, 4, axis=1)
            c_new = tf.sigmoid(gf) * c + tf.sigmoid(gi) * tf.tanh(gg)
            h_new = tf.sigmoid(go) * tf.tanh(c_new)
            live = tf.expand_dims(t < lengths, 1)
            h, c = tf.where(live, h_new, h), tf.where(live, c_new, c)
            return i + 1, h, c, out.write(t, h)

        out = tf.TensorArray(tf.float32, size=time)
        _, h, c, out = tf.while_loop(lambda i, *_: i < time, body, (0, h0, h0, out))
        return tf.transpose(out.stack(), [1, 0, 2]), h, c

    def encode(ids, lengths):
        inputs, vectors = ids, False
        for forward, backward in encoder_layers(weights):
            outputs, h, c = lstm_run(forward, inputs, lengths, False, vectors)
            if backward is not None:
                back, hb, cb = lstm_run(backward, inputs, lengths, True, vectors)
                outputs, h, c = tf.concat([outputs, back], 2), tf.concat([h, hb], 1), tf.concat([c, cb], 1)
            inputs, vectors = outputs, True
        return inputs, h, c

    table, recurrent, bias = (const(a) for a in keras_lstm(weights.decoder))
    dense_kernel, dense_bias = const(weights.dense_kernel), const(weights.dense_bias)
    if weights.has_attention:
        split = weights.keys_kernel.shape[0]
        keys_kernel, combine_bias = const(weights.keys_kernel), const(weights.combine_bias)
        combine_context, combine_h = const(weights.combine_kernel[:split]), const(weights.combine_kernel[split:])

    @tf.function(jit_compile=xla, reduce_retracing=True,
                 input_signature=[tf.TensorSpec([None, None], tf.int64), tf.TensorSpec([None], tf.int64)])
    def decode(ids, lengths):
        ids, lengths = tf.cast(ids, tf.int32), tf.cast(lengths, tf.int32)
        outputs, h, c = encode(ids, lengths)
        batch = tf.shape(ids)[0]
        if weights.has_attention:
            keys = tf.einsum("bts,su->btu", outputs, keys_kernel)
            projected = tf.einsum("bts,sa->bta", outputs, combine_context)
            inside = tf.range(tf.shape(ids)[1])[None, :] < lengths[:, None]
            mask = tf.where(inside, 0.0, float("-inf"))

        steps = tf.range(max_steps)[None, :]

        def body(t, tokens, h, c, done, out):
            z = tf.gather(table, tokens) + bias + tf.matmul(h, recurrent)
            gi, gf, gg, go = tf.split(z, 4, axis=1)
            c = tf.sigmoid(gf) * c + tf.sigmoid(gi) * tf.tanh(gg)
            h = tf.sigmoid(go) * tf.tanh(c)
            top = h
            if weights.has_attention:
                scores = tf.einsum("btu,bu->bt", keys, h) + mask
                attention = tf.nn.softmax(scores, axis=1)
                context = tf.einsum("bt,bta->ba", attention, projected)
                top = tf.tanh(context + tf.matmul(h, combine_h) + combine_bias)
            logits = tf.matmul(top, dense_kernel) + dense_bias
            chosen = tf.argmax(logits, axis=1, output_type=tf.int32)  # softmax keeps the argmax
            chosen = tf.where(done, end_id, chosen)
            out = tf.where(steps == t, chosen[:, None], out)  # fixed shapes, as XLA wants
            return t + 1, chosen, h, c, done | (chosen == end_id), out

        out = tf.fill([batch, max_steps], end_id)
        start = tf.fill([batch], start_id)
        done = tf.zeros([batch], tf.bool)
        cond = lambda t, tokens, h, c, done, out: (t < max_steps) & ~tf.reduce_all(done)  # noqa: E731
        _, _, _, _, _, out = tf.while_loop(cond, body, (0, start, h, c, done, out), maximum_iterations=max_steps)
        return out

    def run(ids, lengths):
        return decode(ids, lengths).numpy()

    import tensorflow as tf_module

    info = {"tensorflow": tf_module.__version__, "xla": xla,
            "threads": {"intra_op": tf_module.config.threading.get_intra_op_parallelism_threads() or "default",
                        "inter_op": tf_module.config.threading.get_inter_op_parallelism_threads() or "default"}}
    return run, info


# --- ONNX Runtime -------------------------------------------------------------------------------------


def onnx_graphs(translator):
    """(encoder model, decoder-step model), built with onnx.helper from the weight arrays."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights, vocab = translator.weights, translator.vocab
    nodes, inits = [], {}

    def init(name, array, dtype=np.float32):
        inits.setdefault(name, numpy_helper.from_array(np.ascontiguousarray(array, dtype=dtype), name))
        return name

    def node(op, inputs, outputs, **attrs):
        nodes.append(helper.make_node(op, inputs, outputs, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def onnx_order(a, u):  # Keras' gate blocks i, f, g, o -> ONNX's i, o, f, c
        return np.concatenate([a[..., :u], a[..., 3 * u :], a[..., u : 2 * u], a[..., 2 * u : 3 * u]], axis=-1)

    # --- the encoder: ONNX's LSTM op, masked by sequence_lens (a reverse direction starts at each row's end)
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "time"])
    lengths = helper.make_tensor_value_info("lengths", TensorProto.INT32, ["batch"])
    ids_t = node("Transpose", ["ids"], ["ids_t"], perm=[1, 0])
    x = node("Gather", [init("one_hot", np.eye(vocab.num_encoder_tokens)), ids_t], ["x0"])  # (time, batch, tokens)
    h_parts = c_parts = None
    for layer, (forward, backward) in enumerate(encoder_layers(weights)):
        directions = [forward] + ([backward] if backward is not None else [])
        u = forward.units
        w = np.stack([onnx_order(keras_lstm(d)[0], u).T for d in directions])  # (dirs, 4u, inputs)
        r = np.stack([onnx_order(keras_lstm(d)[1], u).T for d in directions])
        b = np.stack([np.concatenate([onnx_order(keras_lstm(d)[2], u), np.zeros(4 * u, np.float32)]) for d in directions])
        y, y_h, y_c = node("LSTM", [x, init(f"W{layer}", w), init(f"R{layer}", r), init(f"B{layer}", b), "lengths"],
                           [f"y{layer}", f"yh{layer}", f"yc{layer}"], hidden_size=u,
                           direction="bidirectional" if len(directions) == 2 else "forward")
        # (time, dirs, batch, u) -> (time, batch, dirs * u): the next layer's input and the outputs
        x = node("Reshape", [node("Transpose", [y], [f"yt{layer}"], perm=[0, 2, 1, 3]), init("keep2", [0, 0, -1], np.int64)],
                 [f"x{layer + 1}"])
        h_parts = node("Reshape", [node("Transpose", [y_h], [f"yht{layer}"], perm=[1, 0, 2]), init("keep1", [0, -1], np.int64)],
                       [f"h{layer}"])
        c_parts = node("Reshape", [node("Transpose", [y_c], [f"yct{layer}"], perm=[1, 0, 2]), "keep1"], [f"c{layer}"])
    node("Identity", [h_parts], ["h"])
    node("Identity", [c_parts], ["c"])
    u = weights.decoder.units
    outputs = [helper.make_tensor_value_info("h", TensorProto.FLOAT, ["batch", u]),
               helper.make_tensor_value_info("c", TensorProto.FLOAT, ["batch", u])]
    if weights.has_attention:
        split = weights.keys_kernel.shape[0]
        encoded = node("Transpose", [x], ["encoded"], perm=[1, 0, 2])  # (batch, time, size)
        node("MatMul", [encoded, init("keys_kernel", weights.keys_kernel)], ["keys"])
        node("MatMul", [encoded, init("combine_context", weights.combine_kernel[:split])], ["projected"])
        outputs += [helper.make_tensor_value_info("keys", TensorProto.FLOAT, ["batch", "time", u]),
                    helper.make_tensor_value_info("projected", TensorProto.FLOAT, ["batch", "time", weights.combine_kernel.shape[1]])]
    opset = [helper.make_opsetid("", 17)]
    encoder = helper.make_model(helper.make_graph(nodes, "encoder", [ids, lengths], outputs, list(inits.values())),
                                opset_imports=opset)

    # --- one decoder step
    nodes, inits = [], {}
    table, recurrent, bias = keras_lstm(weights.decoder)
    inputs = [helper.make_tensor_value_info("token", TensorProto.INT64, ["batch"]),
              helper.make_tensor_value_info("h", TensorProto.FLOAT, ["batch", u]),
              helper.make_tensor_value_info("c", TensorProto.FLOAT, ["batch", u])]
    z = node("Add", [node("Gather", [init("table", table + bias), "token"], ["x"]),
                     node("MatMul", ["h", init("recurrent", recurrent)], ["hr"])], ["z"])
    gi, gf, gg, go = node("Split", [z, init("quarters", [u] * 4, np.int64)], ["zi", "zf", "zg", "zo"], axis=1)
    c_new = node("Add", [node("Mul", [node("Sigmoid", [gf], ["f"]), "c"], ["fc"]),
                         node("Mul", [node("Sigmoid", [gi], ["i"]), node("Tanh", [gg], ["g"])], ["ig"])], ["c_new"])
    h_new = node("Mul", [node("Sigmoid", [go], ["o"]), node("Tanh", [c_new], ["tc"])], ["h_new"])
    top = h_new
    if weights.has_attention:
        split = weights.keys_kernel.shape[0]
        inputs += [helper.make_tensor_value_info("keys", TensorProto.FLOAT, ["batch", "time", u]),
                   helper.make_tensor_value_info("projected", TensorProto.FLOAT, ["batch", "time", "att"]),
                   helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "time"])]
        axis2, axis1 = init("axis2", [2], np.int64), init("axis1", [1], np.int64)
        scores = node("Squeeze", [node("MatMul", ["keys", node("Unsqueeze", [h_new, axis2], ["hcol"])], ["s3"]), axis2], ["s"])
        attention = node("Softmax", [node("Add", [scores, "mask"], ["sm"])], ["a"], axis=1)
        context = node("Squeeze", [node("MatMul", [node("Unsqueeze", [attention, axis1], ["arow"]), "projected"], ["ctx3"]), axis1],
                       ["ctx"])
        combined = node("Add", [node("Add", [context, node("MatMul", [h_new, init("combine_h", weights.combine_kernel[split:])],
                                                                ["hh"])], ["pre0"]),
                                init("combine_bias", weights.combine_bias)], ["pre"])
        top = node("Tanh", [combined], ["att"])
    logits = node("Add", [node("MatMul", [top, init("dense_kernel", weights.dense_kernel)], ["l0"]),
                          init("dense_bias", weights.dense_bias)], ["logits"])
    node("Softmax", [logits], ["probs"], axis=1)
    outputs = [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", vocab.num_decoder_tokens]),
               helper.make_tensor_value_info("h_new", TensorProto.FLOAT, ["batch", u]),
               helper.make_tensor_value_info("c_new", TensorProto.FLOAT, ["batch", u])]
    step = helper.make_model(helper.make_graph(nodes, "decoder_step", inputs, outputs, list(inits.values())),
                             opset_imports=opset)
    for model in (encoder, step):
        onnx.checker.check_model(model)
    return encoder, step


def onnx_decoder(translator, threads: int):
    """A function (ids, lengths) -> (batch, steps) token ids over two InferenceSessions, greedy in Python."""
    import onnxruntime as ort

    encoder_model, step_model = onnx_graphs(translator)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    providers = ["CPUExecutionProvider"]
    encoder = ort.InferenceSession(encoder_model.SerializeToString(), options, providers=providers)
    step = ort.InferenceSession(step_model.SerializeToString(), options, providers=providers)
    vocab, attention = translator.vocab, translator.weights.has_attention
    start_id, end_id, max_steps = vocab.start_index, vocab.end_index, vocab.max_decoder_seq_length + 1

    def run(ids, lengths):
        encoded = encoder.run(None, {"ids": ids, "lengths": lengths.astype(np.int32)})
        h, c = encoded[0], encoded[1]
        feeds_fixed = {}
        if attention:
            inside = np.arange(ids.shape[1])[None, :] < lengths[:, None]
            feeds_fixed = {"keys": encoded[2], "projected": encoded[3],
                           "mask": np.where(inside, np.float32(0), np.float32(-np.inf))}
        batch = ids.shape[0]
        out = np.full((batch, max_steps), end_id, dtype=np.int64)
        rows = np.arange(batch)
        tokens = np.full(batch, start_id, dtype=np.int64)
        for t in range(max_steps):
            probs, h, c = step.run(None, {"token": tokens, "h": h, "c": c, **feeds_fixed})
            chosen = probs.argmax(axis=1)
            out[rows, t] = chosen
            keep = chosen != end_id
            if not keep.all():  # finished rows leave the batch, as in the engine
                if not keep.any():
                    break
                rows, h, c, chosen = rows[keep], h[keep], c[keep], chosen[keep]
                feeds_fixed = {name: a[keep] for name, a in feeds_fixed.items()}
            tokens = chosen
        return out

    info = {"onnxruntime": ort.__version__, "intra_op_threads": threads, "graphs": "onnx.helper, opset 17"}
    return run, info


# --- timing -------------------------------------------------------------------------------------------


def trimmed(tokens: np.ndarray, end_id: int) -> list[int]:
    """A row's tokens up to and including the first END (all of them when cut at the limit)."""
    ends = np.flatnonzero(tokens == end_id)
    return tokens[: ends[0] + 1].tolist() if ends.size else tokens.tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runtime", choices=["tf", "tf-xla", "onnx-1", "onnx-2"])
    parser.add_argument("checkpoint")
    parser.add_argument("texts", help="a JSON list of English sentences")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rows", type=int, default=1024, help="rows translated per timed batch run")
    args = parser.parse_args()

    from model import checkpoint

    translator = checkpoint.load(args.checkpoint)
    texts = json.loads(Path(args.texts).read_text(encoding="utf-8"))
    if args.runtime.startswith("tf"):
        run, info = tf_decoder(translator, xla=args.runtime == "tf-xla")
    else:
        run, info = onnx_decoder(translator, threads=int(args.runtime.split("-")[1]))
    end_id = translator.vocab.end_index
    single = list(batches(translator, texts, 1))
    rows = (texts * (-(-args.rows // len(texts))))[: args.rows]
    batched = list(batches(translator, rows, args.batch))

    start = time.perf_counter()
    decoded = [trimmed(run(ids, lengths)[0], end_id) for ids, lengths in single]  # also warms (XLA compiles)
    for ids, lengths in batched:
        run(ids, lengths)
    warm_s = time.perf_counter() - start
    best_single = best_batched = float("inf")
    for _ in range(args.repeats):  # taking turns, as engine_speed.best_times does
        start = time.perf_counter()
        for ids, lengths in single:
            run(ids, lengths)
        best_single = min(best_single, time.perf_counter() - start)
        start = time.perf_counter()
        for ids, lengths in batched:
            run(ids, lengths)
        best_batched = min(best_batched, time.perf_counter() - start)
    print(json.dumps({"runtime": args.runtime, **info, "first_pass_s": round(warm_s, 2),
                      "greedy_b1": {"sentences": len(single), "ms_per_sentence": round(best_single / len(single) * 1e3, 4)},
                      f"greedy_b{args.batch}": {"sentences": len(rows), "sentences_per_s": round(len(rows) / best_batched, 1)},
                      "decoded": decoded}))


if __name__ == "__main__":
    main()
