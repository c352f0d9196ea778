package io.tune4j.tokenizer;

/**
 * Text to token ids and back. Implementations: Hugging Face tokenizer.json (through the HF Rust
 * tokenizers, offline) and llama2.c tokenizer.bin.
 */
public interface Tokenizer extends AutoCloseable {

    /** Encodes text; addBos prepends the beginning-of-sequence token when the model has one. */
    int[] encode(String text, boolean addBos);

    /** Decodes ids to text, dropping special tokens such as BOS/EOS. */
    String decode(int[] ids);

    int vocabSize();

    /** BOS id, or -1 when the tokenizer has none. */
    int bosId();

    /** Ids that end generation (eos_token and any extra ones from the model's configs). */
    int[] eosIds();

    /** A short description for `tune4j info`, e.g. "tokenizer.json (BPE, 32000 tokens)". */
    String describe();

    @Override
    default void close() {}
}
