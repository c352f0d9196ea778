package io.tune4j.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Fixtures;
import io.tune4j.tokenizer.HfTokenizer;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Qwen2, Gemma 2 and Gemma 3 random models exported and run by the real llama.cpp (java-llama.cpp
 * 4.2.0, build 4916): its greedy text must be tune4j's for f32, and a q8_0 file's must stay close to
 * it. The weights are random with a large std and no token whose text is a lone byte can win
 * (their embedding rows are scaled by 0.02, so their logits are near 0 while the winner's are several units), so the
 * texts compare token for token and every argmax has a clear margin. Norm weights are random too,
 * which makes a missing Gemma (1 + w) offset, a wrong norm name or a permuted q/k visible.
 */
class GgufExportFamiliesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String PROMPT = "Once upon a time in a land far away, there lived a very old king who";
    static final int TOKENS = 32;

    static final float QK_SHRINK = 0.25f;
    static final float SILENT_SCALE = 0.02f;

    @TempDir
    Path tmp;

    // ---- models --------------------------------------------------------------------------------

    /** A model directory from config.json fields, a tokenizer already in dir, and random weights. */
    private static Path writeModel(Path dir, String configFields, int firstFreeToken, List<Integer> silent, long seed)
            throws IOException {
        Files.writeString(dir.resolve("config.json"), "{" + configFields + "}");
        LlamaConfig c = LlamaConfigReader.read(dir);
        SplittableRandom rng = new SplittableRandom(seed);
        try (Arena arena = new Arena()) {
            Map<String, Tensor> w = RandomWeights.create(c, seed, 0.5f, arena);
            float base = 1f - c.features().extras().normOffset();
            for (Map.Entry<String, Tensor> e : w.entrySet()) {
                FloatBuffer fb = e.getValue().floats();
                if (e.getKey().endsWith("norm.weight")) {
                    // Gemma's embeddings enter at sqrt(hidden) × their std, above the unit-scale sandwich-normed
                    // outputs, so the tied head would mostly repeat the last token; scaling those outputs by 4
                    // lets the layers steer the text
                    boolean sandwich = c.features().extras().sandwichNorms() && (e.getKey().contains("post_attention")
                            || e.getKey().contains("post_feedforward"));
                    float b = base + (sandwich ? 3f : 0f);
                    for (int i = 0; i < fb.capacity(); i++) fb.put(i, b + (float) (0.25 * rng.nextGaussian()));
                } else if (e.getKey().contains("q_proj") || e.getKey().contains("k_proj")) {
                    // without q/k norms, std 0.5 would give scores of std ~16: one-hot attention, where a
                    // rounding difference moves the attended position; this keeps scores of order 1
                    for (int i = 0; i < fb.capacity(); i++) fb.put(i, fb.get(i) * QK_SHRINK);
                }
            }
            FloatBuffer emb = w.get("model.embed_tokens.weight").floats();
            int d = c.hiddenSize();
            // small, not zero: a zero row would make the input norm's gradient blow up on such a token
            // (Shakespeare's newlines are byte tokens) and fine-tuning diverge
            for (int t : silent) {
                for (int j = 0; j < d; j++) emb.put(t * d + j, emb.get(t * d + j) * SILENT_SCALE);
            }
            for (int t = 0; t < firstFreeToken; t++) {
                for (int j = 0; j < d; j++) emb.put(t * d + j, emb.get(t * d + j) * SILENT_SCALE);
            }
            SafetensorsWriter sw = new SafetensorsWriter().metadata("format", "pt");
            for (Map.Entry<String, Tensor> e : w.entrySet()) sw.add(e.getKey(), e.getValue());
            sw.write(dir.resolve("model.safetensors"));
        }
        return dir;
    }

    /** The 32000-token SentencePiece-style fixture; its first 259 tokens (specials and bytes) are silenced. */
    private Path gemmaModel(String name, String configFields) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Path tok = Fixtures.require("tokenizers/llama2");
        Files.copy(tok.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.copy(tok.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        return writeModel(dir, configFields + ", \"vocab_size\": 32000, \"hidden_size\": 64, \"intermediate_size\": 96, "
                + "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"head_dim\": 32, "
                + "\"query_pre_attn_scalar\": 32, \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-6, "
                + "\"hidden_activation\": \"gelu_pytorch_tanh\", \"tie_word_embeddings\": true, "
                + "\"bos_token_id\": 1, \"eos_token_id\": 2", 259, List.of(), 11);
    }

    static final List<String> QWEN_MERGES = List.of("Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ s", "r e",
            "Ġ w", "a n", "Ġ o", "Ġo n", "e d", "i s", "Ġ b", "o u", "i t", "Ġ f", "Ġa n", "Ġan d", "in g", "Ġ k",
            "Ġk in", "Ġkin g", "Ġ l", "Ġl and", "Ġ v", "e ry", "Ġv ery", "o l", "Ġol d", "Ġ h", "Ġ u", "Ġu p",
            "Ġ ti", "Ġti me", "1 2", "12 3", "Ġ 1", "a y", "Ġw ay", "Ġf ar", "l i", "v ed", "Ġli ved");

    /**
     * A Qwen2-style byte-level BPE tokenizer.json (Qwen2's split regex, then ByteLevel without its own
     * regex): built here, as no Qwen tokenizer is among the fixtures. "1 2" and "12 3" merge digits,
     * which Qwen2's split never lets happen and GPT-2's would: llama.cpp tokenizing "123" as tune4j
     * does shows it took tokenizer.ggml.pre "qwen2".
     */
    private Path qwenModel(String name, String extraFields) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Map<String, Integer> vocab = new LinkedHashMap<>();
        String[] bytes = GgufExportByteLevelBpeTest.byteChars();
        for (String c : bytes) vocab.put(c, vocab.size());
        for (String m : QWEN_MERGES) {
            String[] lr = m.split(" ");
            vocab.putIfAbsent(lr[0], vocab.size());
            vocab.putIfAbsent(lr[1], vocab.size());
            vocab.putIfAbsent(lr[0] + lr[1], vocab.size());
        }
        int eot = vocab.size();
        List<String> specials = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < specials.size(); i++) {
            added.addObject().put("id", eot + i).put("content", specials.get(i)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putObject("normalizer").put("type", "NFC");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode seq = pre.putArray("pretokenizers");
        ObjectNode split = seq.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", GgufTokenizer.QWEN2_SPLIT);
        split.put("behavior", "Isolated").put("invert", false);
        seq.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false)
                .put("use_regex", false);
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false)
                .put("use_regex", false);
        ObjectNode m = root.putObject("model");
        m.put("type", "BPE").putNull("dropout");
        m.putNull("unk_token");
        m.put("continuing_subword_prefix", "").put("end_of_word_suffix", "");
        m.put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode v = m.putObject("vocab");
        vocab.forEach(v::put);
        ArrayNode mg = m.putArray("merges");
        QWEN_MERGES.forEach(mg::add);
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": null, \"eos_token\": \"<|endoftext|>\", "
                + "\"pad_token\": \"<|endoftext|>\", \"add_bos_token\": false}");
        // lone bytes above 0x7f are not text on their own, and the specials would end the text early
        List<Integer> silent = new java.util.ArrayList<>();
        for (int b = 0x7f; b < 256; b++) silent.add(vocab.get(bytes[b]));
        for (int i = 0; i < specials.size(); i++) silent.add(eot + i);
        return writeModel(dir, "\"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\", \"vocab_size\": "
                + (eot + specials.size()) + ", \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, "
                + "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"max_position_embeddings\": 256, "
                + "\"rms_norm_eps\": 1e-6, \"rope_theta\": 1000000.0, \"hidden_act\": \"silu\", \"tie_word_embeddings\": true, "
                + "\"use_sliding_window\": false, \"bos_token_id\": " + eot + ", \"eos_token_id\": " + eot + extraFields,
                0, silent, 5);
    }

    static String gemma2Fields(int layers) {
        return "\"architectures\": [\"Gemma2ForCausalLM\"], \"model_type\": \"gemma2\", \"num_hidden_layers\": " + layers
                + ", \"sliding_window\": 8, \"attn_logit_softcapping\": 50.0, \"final_logit_softcapping\": 30.0, "
                + "\"rope_theta\": 10000.0";
    }

    static String gemma3Fields() {
        return "\"architectures\": [\"Gemma3ForCausalLM\"], \"model_type\": \"gemma3_text\", \"num_hidden_layers\": 7, "
                + "\"sliding_window\": 8, \"rope_theta\": 1000000.0, \"rope_local_base_freq\": 10000.0";
    }

    // ---- helpers -------------------------------------------------------------------------------

    private Path export(Path model, String dtype, String... more) {
        Path out = tmp.resolve(model.getFileName() + "-" + dtype + "-" + System.nanoTime() + ".gguf");
        String[] a = new String[7 + more.length];
        a[0] = "export";
        a[1] = "--model";
        a[2] = model.toString();
        System.arraycopy(more, 0, a, 3, more.length);
        a[3 + more.length] = "--dtype";
        a[4 + more.length] = dtype;
        a[5 + more.length] = "--out";
        a[6 + more.length] = out.toString();
        Cli.Run r = Cli.run(a);
        assertEquals(0, r.code(), r.err());
        return out;
    }

    /** Summed cross-entropy (nats) and token count of tune4j's model over text, every token scored. */
    private double[] tune4jNll(Path model, String text) throws IOException {
        Path f = Files.createTempFile(tmp, "text", ".txt");
        Files.writeString(f, text);
        Cli.Run r = Cli.run("eval", "--model", model.toString(), "--data", f.toString(), "--text-mode", "whole-file",
                "--seq-len", "160", "--metric", "loss", "--limit", "0");
        assertEquals(0, r.code(), r.err());
        var j = JSON.readTree(r.out());
        long n = j.at("/counts/loss_tokens").asLong();
        return new double[] {j.get("loss").asDouble() * n, n};
    }

    /**
     * tune4j's perplexity of a continuation of PROMPT: the cross-entropy of prompt + continuation less
     * that of the prompt alone (a causal model scores the prompt's tokens the same either way). The
     * binding cannot hand over llama.cpp's own probabilities (4.2.0 aborts the JVM on n_probs), so
     * q8_0's continuation is scored by the f32 model: tokens the f32 model would not have chosen cost
     * perplexity. Re-encoding a byte-level BPE text need not split it as generation did, which raises
     * the perplexity of both continuations (Qwen2's here), not their ratio when they agree.
     */
    private double continuationPerplexity(Path model, String continuation) throws IOException {
        double[] all = tune4jNll(model, PROMPT + continuation), prompt = tune4jNll(model, PROMPT);
        return Math.exp((all[0] - prompt[0]) / (all[1] - prompt[1]));
    }

    /**
     * f32: llama.cpp's greedy text is tune4j's. q8_0: the continuation llama.cpp writes from the q8_0
     * file shares at least its first half of tokens with f32's, and tune4j's perplexity of it is at
     * most 25% above that of tune4j's own greedy continuation. q8_0 rounds every weight, and a random
     * model amplifies a small difference once two tokens are close, so its text may leave f32's late
     * in the continuation (Gemma 3 here: after 23 of 33 tokens).
     */
    private void generatesAsTune4j(Path model, String label) throws IOException {
        String expected = Cli.greedy(PROMPT, TOKENS, "--model", model.toString());
        Path f32 = export(model, "f32");
        Path q8 = export(model, "q8_0");
        try (LlamaCpp l = new LlamaCpp(f32)) {
            assertEquals(expected, l.greedy(PROMPT, TOKENS), label + " f32\n" + LlamaCpp.log());
        }
        String fromQ8;
        try (LlamaCpp l = new LlamaCpp(q8)) {
            fromQ8 = l.greedy(PROMPT, TOKENS);
        }
        int same = 0, n;
        try (HfTokenizer t = HfTokenizer.load(model.resolve("tokenizer.json"))) {
            int[] a = t.encode(expected, false), b = t.encode(fromQ8, false);
            n = a.length;
            while (same < Math.min(a.length, b.length) && a[same] == b[same]) same++;
        }
        double p32 = continuationPerplexity(model, expected), p8 = continuationPerplexity(model, fromQ8);
        System.out.printf("%s: llama.cpp q8_0 continuation equals f32's for %d of %d tokens; tune4j perplexity of "
                + "the f32 greedy continuation %.4f, of q8_0's %.4f (ratio %.4f)%n", label, same, n, p32, p8, p8 / p32);
        assertTrue(same >= n / 2, label + ": q8_0 left f32's text after " + same + " tokens: " + fromQ8);
        assertTrue(p8 / p32 <= 1.25, label + ": perplexity of q8_0's continuation " + p8 + " vs f32's " + p32
                + "; q8_0 wrote: " + fromQ8);
    }

    private static void assertTokenizesAsTune4j(Path model, LlamaCpp l, List<String> texts) {
        try (HfTokenizer t = HfTokenizer.load(model.resolve("tokenizer.json"))) {
            for (String s : texts) assertArrayEquals(t.encode(s, false), l.encode(s), s);
        }
    }

    // ---- tests ---------------------------------------------------------------------------------

    @Test
    void qwen2GeneratesAsTune4j() throws IOException {
        Path model = qwenModel("qwen2", "");
        Path gguf = export(model, "f32");
        GgufReader g = new GgufReader(gguf);
        assertEquals("qwen2", g.kv.get("general.architecture"));
        assertEquals("gpt2", g.kv.get("tokenizer.ggml.model"));
        assertEquals("qwen2", g.kv.get("tokenizer.ggml.pre"));
        assertEquals(1000000f, g.kv.get("qwen2.rope.freq_base"));
        assertEquals(2L, g.kv.get("qwen2.attention.head_count_kv"));
        assertTrue(g.tensors.containsKey("blk.1.attn_q.bias") && g.tensors.containsKey("blk.1.attn_v.bias"));
        assertFalse(g.tensors.containsKey("blk.1.attn_output.bias"));
        assertFalse(g.tensors.containsKey("output.weight"), "tied head");
        try (LlamaCpp l = new LlamaCpp(gguf)) {
            assertTokenizesAsTune4j(model, l, List.of("the king and the land", "123 and 1234567", "  it's 42, isn't it?\n",
                    "naïve café 東京 🙂", "tabs\tand\r\nnewlines  "));
        }
        generatesAsTune4j(model, "qwen2");
    }

    @Test
    void gemma2GeneratesAsTune4j() throws IOException {
        Path model = gemmaModel("gemma2", gemma2Fields(26));
        Path gguf = export(model, "f32");
        GgufReader g = new GgufReader(gguf);
        assertEquals("gemma2", g.kv.get("general.architecture"));
        assertEquals(8L, g.kv.get("gemma2.attention.sliding_window"));
        assertEquals(50f, g.kv.get("gemma2.attn_logit_softcapping"));
        assertEquals(30f, g.kv.get("gemma2.final_logit_softcapping"));
        assertEquals(32L, g.kv.get("gemma2.attention.key_length"));
        assertTrue(g.tensors.containsKey("blk.25.post_attention_norm.weight"));
        assertTrue(g.tensors.containsKey("blk.25.post_ffw_norm.weight"));
        assertTrue(g.tensors.containsKey("blk.25.ffn_norm.weight"));
        generatesAsTune4j(model, "gemma2");
    }

    @Test
    void gemma3GeneratesAsTune4j() throws IOException {
        Path model = gemmaModel("gemma3", gemma3Fields());
        Path gguf = export(model, "f32");
        GgufReader g = new GgufReader(gguf);
        assertEquals("gemma3", g.kv.get("general.architecture"));
        assertEquals(8L, g.kv.get("gemma3.attention.sliding_window"));
        assertTrue(g.tensors.containsKey("blk.6.attn_q_norm.weight") && g.tensors.containsKey("blk.6.attn_k_norm.weight"));
        assertFalse(g.kv.containsKey("gemma3.final_logit_softcapping"));
        generatesAsTune4j(model, "gemma3");
    }

    /** A LoRA trained on the model: merged into the GGUF, and alone as a GGUF LoRA over the base file. */
    private void loraGeneratesAsTune4j(Path model, String label, String lr) throws IOException {
        Path run = tmp.resolve(label + "-run");
        Cli.Run r = Cli.run("finetune", "--model", model.toString(),
                "--data", Fixtures.require("data/shakespeare/input.txt").toString(), "--text-mode", "whole-file",
                "--method", "lora", "--target-modules", "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
                "--max-steps", "12", "--batch-size", "4", "--seq-len", "64", "--lr", lr, "--val-split", "0",
                "--out", run.toString());
        assertEquals(0, r.code(), r.err());
        Path adapter = run.resolve("adapter");
        String tuned = Cli.greedy(PROMPT, TOKENS, "--model", model.toString(), "--adapter", adapter.toString());
        assertNotEquals(Cli.greedy(PROMPT, TOKENS, "--model", model.toString()), tuned,
                label + ": the adapter must change the greedy text for this test to mean anything");
        Path merged = export(model, "f32", "--adapter", adapter.toString());
        try (LlamaCpp l = new LlamaCpp(merged)) {
            assertEquals(tuned, l.greedy(PROMPT, TOKENS), label + " merged\n" + LlamaCpp.log());
        }
        Path lora = export(model, "f32", "--adapter", adapter.toString(), "--lora-only");
        assertEquals(new GgufReader(merged).kv.get("general.architecture"), new GgufReader(lora).kv.get("general.architecture"));
        try (LlamaCpp l = new LlamaCpp(export(model, "f32"), lora)) {
            assertEquals(tuned, l.greedy(PROMPT, TOKENS), label + " LoRA-only\n" + LlamaCpp.log());
        }
    }

    @Test
    void qwen2LoraMergedAndAlone() throws IOException {
        loraGeneratesAsTune4j(qwenModel("qwen2-lora", ""), "qwen2", "1e-2");
    }

    @Test
    void gemma3LoraMergedAndAlone() throws IOException {
        loraGeneratesAsTune4j(gemmaModel("gemma3-lora", gemma3Fields()), "gemma3", "1e-2");
    }
}
