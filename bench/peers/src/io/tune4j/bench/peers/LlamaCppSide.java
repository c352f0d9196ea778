package io.tune4j.bench.peers;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import java.nio.file.Path;

/** llama.cpp (java-llama.cpp 4.2.0's bundled CPU build) on the GGUF file tune4j's exporter wrote. */
final class LlamaCppSide implements PeersMain.Side {
    @Override
    public String name() {
        return "llamacpp";
    }

    @Override
    public PeersMain.Measurement measure(Models.Shape shape, String precision, Path root, int tokens, int threads) {
        ModelParameters p = new ModelParameters().setModel(Models.gguf(root, shape, precision).toString())
                .setCtxSize(512).setThreads(threads).setThreadsBatch(threads).setParallel(1);
        try (LlamaModel m = new LlamaModel(p)) {
            run(m, 16);  // warm-up
            return run(m, tokens);
        }
    }

    // complete() rather than the token iterator: with 4.2.0 the iterator did not return after the last token here.
    // The decode rate is the difference of an n-token and a 1-token completion, so the prompt's forward drops out.
    private static PeersMain.Measurement run(LlamaModel m, int tokens) {
        long t0 = System.nanoTime();
        complete(m, 1);
        long t1 = System.nanoTime();
        complete(m, tokens);
        long t2 = System.nanoTime();
        double decode = ((t2 - t1) - (t1 - t0)) / 1e9;
        return new PeersMain.Measurement((tokens - 1) / decode, tokens, (t1 - t0) / 1e6);
    }

    private static void complete(LlamaModel m, int n) {
        InferenceParameters ip = new InferenceParameters(Models.PROMPT).setTemperature(0f).setTopK(1).setNPredict(n)
                .setRepeatPenalty(1f).setIgnoreEos(true).setCachePrompt(false).setSeed(0);
        m.complete(ip);
    }
}
