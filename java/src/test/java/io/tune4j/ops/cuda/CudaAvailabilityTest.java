package io.tune4j.ops.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tune4j.runtime.CudaRuntime;
import io.tune4j.tensor.Device;
import io.tune4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** CUDA's absence must be reported, never crash the JVM; with a GPU, memory must round-trip. */
class CudaAvailabilityTest {
    static void assumeGpu() {
        if (!CudaOps.isAvailable()) {
            String msg = "CUDA tests skipped: no GPU (" + CudaOps.unavailableReason() + ")";
            System.out.println(msg);
            assumeTrue(false, msg);
        }
    }

    @Test
    void availabilityIsReportedWithoutFailing() {
        boolean available = CudaOps.isAvailable();
        if (!available) assertNotNull(CudaOps.unavailableReason());
        System.out.println("CUDA: " + (available ? CudaRuntime.deviceCount() + " device(s)" : CudaOps.unavailableReason()));
        assumeGpu();
    }

    @Test
    void uploadDownloadRoundTrip() {
        assumeGpu();
        CudaOps cuda = CudaOps.instance();
        float[] values = {1f, -2.5f, 3e-8f, Float.MAX_VALUE, 0f, 7f, -0f};
        try (Tensor host = Tensor.of(values, values.length);
             Tensor dev = cuda.upload(host);
             Tensor back = cuda.download(dev)) {
            assumeTrue(dev.device() == Device.CUDA);
            assertArrayEquals(values, back.toFloatArray());
            cuda.fill(dev, 4f);
            cuda.copyToHost(back, dev);
            assertArrayEquals(new float[] {4f, 4f, 4f, 4f, 4f, 4f, 4f}, back.toFloatArray());
        }
    }
}
