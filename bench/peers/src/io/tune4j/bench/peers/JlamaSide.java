package io.tune4j.bench.peers;

import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.model.functions.Generator;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.safetensors.prompt.PromptContext;
import com.github.tjake.jlama.util.PhysicalCoreExecutor;
import java.nio.file.Path;
import java.util.UUID;

/** Jlama 0.8.4 on the same HF safetensors directory (f32 or bf16 weights), F32 working memory. */
final class JlamaSide implements PeersMain.Side {
    @Override
    public String name() {
        return "jlama";
    }

    @Override
    public PeersMain.Measurement measure(Models.Shape shape, String precision, Path root, int tokens, int threads) {
        if (precision.equals("q8_0")) throw new IllegalArgumentException("Jlama has no q8_0 GGUF path");
        PhysicalCoreExecutor.overrideThreadCount(threads);
        DType weights = precision.equals("bf16") ? DType.BF16 : DType.F32;
        AbstractModel m = ModelSupport.loadModel(Models.hfDir(root, shape, precision).toFile(), DType.F32, weights);
        // Jlama's token limit counts the prompt too
        int prompt = m.encodePrompt(PromptContext.of(Models.PROMPT)).length;
        m.generate(UUID.randomUUID(), PromptContext.of(Models.PROMPT), 0f, prompt + 16, (s, f) -> {}); // warm-up
        Generator.Response r = m.generate(UUID.randomUUID(), PromptContext.of(Models.PROMPT), 0f, prompt + tokens,
                (s, f) -> {});
        // generateTimeMs covers the tokens after the prompt's forward (promptTimeMs)
        return new PeersMain.Measurement(r.generatedTokens / (r.generateTimeMs / 1e3), r.generatedTokens, r.promptTimeMs);
    }
}
