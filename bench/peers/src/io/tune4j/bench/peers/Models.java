package io.tune4j.bench.peers;

import io.tune4j.export.GgufExporter;
import io.tune4j.export.GgufType;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.ops.RopeScaling;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.ModelDirWriter;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/** The benchmark's random-weight models at real shapes, written once for every side. */
final class Models {
    /** The Llama 2 tokenizer (32000 tokens) serves both shapes, so every side tokenizes the same prompt. */
    enum Shape {
        STORIES15M("stories15M", new LlamaConfig(32000, 288, 768, 6, 6, 6, 48, 256, 1e-5f, RopeScaling.none(10000f),
                false, 1, new int[] {2}, "silu", false, false)),
        SMOLLM2_135M("SmolLM2-135M (vocab 32000)", new LlamaConfig(32000, 576, 1536, 30, 9, 3, 64, 2048, 1e-5f,
                RopeScaling.none(100000f), true, 1, new int[] {2}, "silu", false, false));

        final String label;
        final LlamaConfig config;

        Shape(String label, LlamaConfig config) {
            this.label = label;
            this.config = config;
        }
    }

    static final String PROMPT = "Once upon a time, in a small village by the sea, there lived an old";

    static Path hfDir(Path root, Shape s, String precision) {
        return root.resolve(s.name() + "-" + precision);
    }

    static Path gguf(Path root, Shape s, String precision) {
        return root.resolve(s.name() + "-" + precision + ".gguf");
    }

    static void prepare(Path root) throws Exception {
        Path tok = Path.of(System.getProperty("peers.tokenizer"));
        for (Shape s : Shape.values()) {
            Path f32 = hfDir(root, s, "f32"), bf16 = hfDir(root, s, "bf16");
            try (Arena arena = new Arena()) {
                Map<String, Tensor> w = RandomWeights.create(s.config, 1234, 0.02f, arena);
                LlamaModel m = LlamaModel.fromWeights(s.config, w, CpuOps.INSTANCE);
                ModelDirWriter.write(f32, m, Map.of(), null);
                Files.createDirectories(bf16);
                SafetensorsWriter bw = new SafetensorsWriter().metadata("format", "pt");
                for (Map.Entry<String, Tensor> e : w.entrySet()) bw.add(e.getKey(), e.getValue(), DType.BF16);
                bw.write(bf16.resolve("model.safetensors"));
                String cfg = Files.readString(f32.resolve("config.json")).replace("\"float32\"", "\"bfloat16\"");
                Files.writeString(bf16.resolve("config.json"), cfg);
            }
            for (Path d : new Path[] {f32, bf16}) {
                for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
                    Files.copy(tok.resolve(f), d.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            try (LoadedModel m = LoadedModel.load(f32, null, CpuOps.INSTANCE)) {
                for (String p : new String[] {"f32", "bf16", "q8_0"}) {
                    GgufExporter.export(m, null, GgufType.parse(p), s.label, gguf(root, s, p));
                }
            }
            System.out.println("prepared " + s.label);
        }
    }

    private Models() {}
}
