package io.tune4j.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One LoRA fine-tuning step (r=16 on all 7 projections, AdamW) at Qwen2.5-0.5B shape (q/k/v biases,
 * tied embeddings, vocabulary 151936), 4x256 tokens: tune4j vs libtorch autograd.
 */
public class Qwen25LoraTrainStepBench {
    @State(Scope.Benchmark)
    public static class Ours {
        TrainStep.Ours s;

        @Setup(Level.Trial)
        public void setUp() {
            s = new TrainStep.Ours(Qwen25.CONFIG, true);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            TrainStep.recordPeakRss("Qwen25LoraTrainStepBench.tune4j");
            s.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Theirs {
        TrainStep.Theirs s;

        @Setup(Level.Trial)
        public void setUp() {
            s = new TrainStep.Theirs(Qwen25.CONFIG, true);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            TrainStep.recordPeakRss("Qwen25LoraTrainStepBench.libtorch");
            s.close();
        }
    }

    @Benchmark
    public double tune4j(Ours o) {
        return o.s.step();
    }

    @Benchmark
    public double libtorch(Theirs t) {
        return t.s.step();
    }
}
