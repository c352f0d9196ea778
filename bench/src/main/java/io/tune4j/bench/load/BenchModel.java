package io.tune4j.bench.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.bench.MultiLoraDecodeBench;
import io.tune4j.bench.Stories15M;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The model the server under load serves: a Hugging Face directory with the stories15M shape and
 * random weights (the same ones the decode benchmarks use), the Llama 2 tokenizer (llama2.c
 * tokenizer.bin, 32000 tokens) beside it, and random LoRA adapters over it.
 */
final class BenchModel {
    final Path dir;
    final List<Path> adapters;

    private BenchModel(Path dir, List<Path> adapters) {
        this.dir = dir;
        this.adapters = adapters;
    }

    static BenchModel write(Path root, Path tokenizerBin, int adapterCount) throws IOException {
        Path dir = Files.createDirectories(root.resolve("stories15M-random"));
        LlamaConfig c = Stories15M.CONFIG;
        List<Path> adapters = new ArrayList<>();
        try (Arena arena = new Arena()) {
            Map<String, Tensor> w = Stories15M.weights(arena);
            SafetensorsWriter.write(dir.resolve("model.safetensors"), w, DType.F32, Map.of());
            Files.writeString(dir.resolve("config.json"), config(c));
            Files.copy(tokenizerBin, dir.resolve("tokenizer.bin"));
            if (adapterCount > 0) {
                // the adapters' shapes come from the model; the weights are only read while attaching
                try (LlamaModel model = LlamaModel.fromWeights(c, w, CpuOps.INSTANCE)) {
                    for (int a = 0; a < adapterCount; a++) {
                        Path ad = root.resolve("lora-" + a);
                        MultiLoraDecodeBench.saveAdapter(model, ad, 100 + a);
                        adapters.add(ad);
                    }
                }
            }
        }
        return new BenchModel(dir, adapters);
    }

    private static String config(LlamaConfig c) {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.putArray("architectures").add("LlamaForCausalLM");
        n.put("model_type", "llama");
        n.put("vocab_size", c.vocabSize());
        n.put("hidden_size", c.hiddenSize());
        n.put("intermediate_size", c.intermediateSize());
        n.put("num_hidden_layers", c.numLayers());
        n.put("num_attention_heads", c.numHeads());
        n.put("num_key_value_heads", c.numKvHeads());
        n.put("max_position_embeddings", c.maxPositions());
        n.put("rms_norm_eps", c.rmsNormEps());
        n.put("rope_theta", 10000.0);
        n.put("hidden_act", "silu");
        n.put("tie_word_embeddings", c.tieWordEmbeddings());
        n.put("bos_token_id", c.bosTokenId());
        n.put("eos_token_id", c.eosTokenIds()[0]);
        n.put("torch_dtype", "float32");
        return n.toPrettyString();
    }
}
