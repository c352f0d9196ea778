package io.tune4j.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/** One full fine-tuning step at SmolLM2-135M shape, 4x256 tokens: tune4j vs libtorch autograd. */
public class FullTrainStepBench {
    @State(Scope.Benchmark)
    public static class Ours {
        TrainStep.Ours s;

        @Setup(Level.Trial)
        public void setUp() {
            s = new TrainStep.Ours(false);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            TrainStep.recordPeakRss("FullTrainStepBench.tune4j");
            s.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Theirs {
        TrainStep.Theirs s;

        @Setup(Level.Trial)
        public void setUp() {
            s = new TrainStep.Theirs(false);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            TrainStep.recordPeakRss("FullTrainStepBench.libtorch");
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
