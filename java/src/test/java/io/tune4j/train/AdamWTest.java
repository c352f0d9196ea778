package io.tune4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.Parameter;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Tensor;
import java.nio.FloatBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class AdamWTest {

    @Test
    void convergesOnAQuadratic() {
        // f(x) = 1/2 sum a_i (x_i - c_i)^2 with curvatures spanning two orders of magnitude
        int n = 50;
        float[] a = new float[n], c = new float[n], x0 = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = 0.1f + 10f * i / n;
            c[i] = (float) Math.sin(i);
            x0[i] = 3f * (float) Math.cos(i * 1.7);
        }
        try (Parameter p = new Parameter("x", Tensor.of(x0, 5, 10))) {
            p.requireGrad();
            try (AdamW opt = new AdamW(CpuOps.INSTANCE, List.of(p), 0.9f, 0.999f, 1e-8f, 0f, q -> true)) {
                LrSchedule s = new LrSchedule(TrainConfig.Schedule.COSINE, 0.1, 0, 0, 1500);
                for (int step = 0; step < 1500; step++) {
                    FloatBuffer x = p.value().floats(), g = p.grad().floats();
                    for (int i = 0; i < n; i++) g.put(i, a[i] * (x.get(i) - c[i]));
                    opt.step(s.lr(step));
                }
                assertEquals(1500, opt.stepCount());
            }
            float[] x = p.value().toFloatArray();
            for (int i = 0; i < n; i++) assertEquals(c[i], x[i], 1e-3, "x[" + i + "]");
            p.value().close();
        }
    }

    @Test
    void weightDecayOnlyWhereConfigured() {
        TrainConfig cfg = TrainConfig.builder().weightDecay(0.5).noDecay(List.of("lora_B")).build();
        Parameter w = new Parameter("layers.0.q_proj.weight", Tensor.of(new float[] {1, 1, 1, 1}, 2, 2));
        Parameter norm = new Parameter("layers.0.input_layernorm.weight", Tensor.of(new float[] {1, 1}, 2));
        Parameter b = new Parameter("layers.0.q_proj.lora_B", Tensor.of(new float[] {1, 1, 1, 1}, 2, 2));
        List<Parameter> ps = List.of(w, norm, b);
        for (Parameter p : ps) p.requireGrad();
        try (AdamW opt = AdamW.of(CpuOps.INSTANCE, ps, cfg)) {
            assertTrue(opt.decays(0));
            assertTrue(!opt.decays(1) && !opt.decays(2));
            opt.step(0.1); // zero gradients: only decay moves anything
        }
        assertArrayEquals(new float[] {0.95f, 0.95f, 0.95f, 0.95f}, w.value().toFloatArray(), 1e-7f);
        assertArrayEquals(new float[] {1, 1}, norm.value().toFloatArray());
        assertArrayEquals(new float[] {1, 1, 1, 1}, b.value().toFloatArray());
        for (Parameter p : ps) {
            p.close();
            p.value().close();
        }
    }

    @Test
    void clippingScalesToTheGlobalNorm() {
        Parameter p = new Parameter("a", Tensor.of(new float[] {0, 0}, 2));
        Parameter q = new Parameter("b", Tensor.of(new float[] {0}, 1));
        p.requireGrad();
        q.requireGrad();
        p.grad().floats().put(new float[] {3, 0});
        q.grad().floats().put(new float[] {4});
        double norm = GradientClipping.clip(CpuOps.INSTANCE, List.of(p, q), 1.0);
        assertEquals(5.0, norm, 1e-12);
        assertArrayEquals(new float[] {0.6f, 0f}, p.grad().toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {0.8f}, q.grad().toFloatArray(), 1e-6f);
        assertEquals(1.0, GradientClipping.globalNorm(CpuOps.INSTANCE, List.of(p, q)), 1e-6);
        assertEquals(1.0, GradientClipping.clip(CpuOps.INSTANCE, List.of(p, q), 0), 1e-6);
        for (Parameter x : List.of(p, q)) {
            x.close();
            x.value().close();
        }
    }
}
