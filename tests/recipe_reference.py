"""The keras.io lstm_seq2seq recipe's own code, the reference the tests compare this project against.

https://keras.io/examples/nlp/lstm_seq2seq/ (F. Chollet). The code is the published recipe's, kept as
close to the original as the tests allow: functions instead of a script, the data path and sizes as
arguments, the 2019 release's two-column lines, and `decode_sequence` also returning the probability
vector of every step so that probabilities can be compared, not only characters.
"""

from __future__ import annotations

import numpy as np


def recipe_vectorize(data_path, num_samples=10000):
    """The keras.io lstm_seq2seq recipe's data preparation, as published (only the line split is
    adapted: the 2019 release has two columns, the recipe's current code unpacks three)."""
    input_texts = []
    target_texts = []
    input_characters = set()
    target_characters = set()
    with open(data_path, "r", encoding="utf-8") as f:
        lines = f.read().split("\n")
    for line in lines[: min(num_samples, len(lines) - 1)]:
        input_text, target_text = line.split("\t")[:2]
        # We use "tab" as the "start sequence" character
        # for the targets, and "\n" as "end sequence" character.
        target_text = "\t" + target_text + "\n"
        input_texts.append(input_text)
        target_texts.append(target_text)
        for char in input_text:
            if char not in input_characters:
                input_characters.add(char)
        for char in target_text:
            if char not in target_characters:
                target_characters.add(char)

    input_characters = sorted(list(input_characters))
    target_characters = sorted(list(target_characters))
    num_encoder_tokens = len(input_characters)
    num_decoder_tokens = len(target_characters)
    max_encoder_seq_length = max([len(txt) for txt in input_texts])
    max_decoder_seq_length = max([len(txt) for txt in target_texts])

    input_token_index = dict([(char, i) for i, char in enumerate(input_characters)])
    target_token_index = dict([(char, i) for i, char in enumerate(target_characters)])

    encoder_input_data = np.zeros((len(input_texts), max_encoder_seq_length, num_encoder_tokens), dtype="float32")
    decoder_input_data = np.zeros((len(input_texts), max_decoder_seq_length, num_decoder_tokens), dtype="float32")
    decoder_target_data = np.zeros((len(input_texts), max_decoder_seq_length, num_decoder_tokens), dtype="float32")

    for i, (input_text, target_text) in enumerate(zip(input_texts, target_texts)):
        for t, char in enumerate(input_text):
            encoder_input_data[i, t, input_token_index[char]] = 1.0
        encoder_input_data[i, t + 1 :, input_token_index[" "]] = 1.0
        for t, char in enumerate(target_text):
            # decoder_target_data is ahead of decoder_input_data by one timestep
            decoder_input_data[i, t, target_token_index[char]] = 1.0
            if t > 0:
                # decoder_target_data will be ahead by one timestep
                # and will not include the start character.
                decoder_target_data[i, t - 1, target_token_index[char]] = 1.0
        decoder_input_data[i, t + 1 :, target_token_index[" "]] = 1.0
        decoder_target_data[i, t:, target_token_index[" "]] = 1.0

    return dict(
        input_texts=input_texts, target_texts=target_texts,
        input_characters=input_characters, target_characters=target_characters,
        max_encoder_seq_length=max_encoder_seq_length, max_decoder_seq_length=max_decoder_seq_length,
        encoder_input_data=encoder_input_data, decoder_input_data=decoder_input_data,
        decoder_target_data=decoder_target_data,
    )


def recipe_encoder_input_data(input_texts, input_token_index, max_encoder_seq_length):
    """The recipe's encoder input for `input_texts`: one-hot, padded with spaces (its vectorizing loop)."""
    num_encoder_tokens = len(input_token_index)
    encoder_input_data = np.zeros((len(input_texts), max_encoder_seq_length, num_encoder_tokens), dtype="float32")
    for i, input_text in enumerate(input_texts):
        for t, char in enumerate(input_text):
            encoder_input_data[i, t, input_token_index[char]] = 1.0
        encoder_input_data[i, t + 1 :, input_token_index[" "]] = 1.0
    return encoder_input_data


class RecipeInference:
    """The recipe's inference section: restore the model, build encoder_model and decoder_model from
    its layers (positionally, as the recipe does), and decode with `decoder_model.predict` per step."""

    def __init__(self, model_path, latent_dim, target_characters, max_decoder_seq_length):
        import keras

        self.num_decoder_tokens = len(target_characters)
        self.target_token_index = dict([(char, i) for i, char in enumerate(target_characters)])
        self.reverse_target_char_index = dict((i, char) for char, i in self.target_token_index.items())
        self.max_decoder_seq_length = max_decoder_seq_length

        # Define sampling models
        # Restore the model and construct the encoder and decoder.
        model = keras.models.load_model(model_path)
        self.model = model

        encoder_inputs = model.input[0]  # input_1
        encoder_outputs, state_h_enc, state_c_enc = model.layers[2].output  # lstm_1
        encoder_states = [state_h_enc, state_c_enc]
        self.encoder_model = keras.Model(encoder_inputs, encoder_states)

        decoder_inputs = model.input[1]  # input_2
        decoder_state_input_h = keras.Input(shape=(latent_dim,))
        decoder_state_input_c = keras.Input(shape=(latent_dim,))
        decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
        decoder_lstm = model.layers[3]
        decoder_outputs, state_h_dec, state_c_dec = decoder_lstm(decoder_inputs, initial_state=decoder_states_inputs)
        decoder_states = [state_h_dec, state_c_dec]
        decoder_dense = model.layers[4]
        decoder_outputs = decoder_dense(decoder_outputs)
        self.decoder_model = keras.Model([decoder_inputs] + decoder_states_inputs, [decoder_outputs] + decoder_states)

    def decode_sequence(self, input_seq):
        """The recipe's loop, for one sentence; also returns each step's probability vector."""
        encoder_model, decoder_model = self.encoder_model, self.decoder_model
        num_decoder_tokens, target_token_index = self.num_decoder_tokens, self.target_token_index
        reverse_target_char_index, max_decoder_seq_length = self.reverse_target_char_index, self.max_decoder_seq_length
        step_probs = []

        # Encode the input as state vectors.
        states_value = encoder_model.predict(input_seq, verbose=0)

        # Generate empty target sequence of length 1.
        target_seq = np.zeros((1, 1, num_decoder_tokens))
        # Populate the first character of target sequence with the start character.
        target_seq[0, 0, target_token_index["\t"]] = 1.0

        # Sampling loop for a batch of sequences
        # (to simplify, here we assume a batch of size 1).
        stop_condition = False
        decoded_sentence = ""
        while not stop_condition:
            output_tokens, h, c = decoder_model.predict([target_seq] + states_value, verbose=0)
            step_probs.append(output_tokens[0, -1, :])

            # Sample a token
            sampled_token_index = np.argmax(output_tokens[0, -1, :])
            sampled_char = reverse_target_char_index[sampled_token_index]
            decoded_sentence += sampled_char

            # Exit condition: either hit max length
            # or find stop character.
            if sampled_char == "\n" or len(decoded_sentence) > max_decoder_seq_length:
                stop_condition = True

            # Update the target sequence (of length 1).
            target_seq = np.zeros((1, 1, num_decoder_tokens))
            target_seq[0, 0, sampled_token_index] = 1.0

            # Update states
            states_value = [h, c]
        return decoded_sentence, step_probs

    def decode_batch(self, input_seqs):
        """`decode_sequence` run in lockstep over many sentences: the same loop, one `predict` per
        step for all rows at once (rows are independent, so each row follows its own loop)."""
        n = len(input_seqs)
        states_value = self.encoder_model.predict(input_seqs, verbose=0)
        target_seq = np.zeros((n, 1, self.num_decoder_tokens))
        target_seq[:, 0, self.target_token_index["\t"]] = 1.0
        decoded = [""] * n
        step_probs = [[] for _ in range(n)]
        stopped = np.zeros(n, dtype=bool)
        while not stopped.all():
            output_tokens, h, c = self.decoder_model.predict([target_seq] + states_value, verbose=0)
            sampled = np.argmax(output_tokens[:, -1, :], axis=1)
            for i in np.flatnonzero(~stopped):
                sampled_char = self.reverse_target_char_index[sampled[i]]
                decoded[i] += sampled_char
                step_probs[i].append(output_tokens[i, -1, :])
                if sampled_char == "\n" or len(decoded[i]) > self.max_decoder_seq_length:
                    stopped[i] = True
            target_seq = np.zeros((n, 1, self.num_decoder_tokens))
            target_seq[np.arange(n), 0, sampled] = 1.0
            states_value = [h, c]
        return decoded, step_probs
