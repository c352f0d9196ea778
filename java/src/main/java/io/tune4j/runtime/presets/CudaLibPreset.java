package io.tune4j.runtime.presets;

import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;
import org.bytedeco.javacpp.tools.Info;
import org.bytedeco.javacpp.tools.InfoMap;
import org.bytedeco.javacpp.tools.InfoMapper;

/**
 * Generates {@code io.tune4j.runtime.CudaLib}, the JNI entry points of libtune4j_cuda, from
 * kernels/tune4j_cuda.h at build time. Device buffers and streams travel as raw addresses; a stream
 * of 0 is the default stream. {@link io.tune4j.runtime.CudaRuntime} loads the generated class and
 * survives its absence (no nvcc at build time, no driver at run time).
 */
@Properties(target = "io.tune4j.runtime.CudaLib", value = @Platform(include = "tune4j_cuda.h", link = "tune4j_cuda"))
public class CudaLibPreset implements InfoMapper {
    @Override
    public void map(InfoMap infoMap) {
        AddressTypes.map(infoMap);
        infoMap.put(new Info("const char").pointerTypes("String").cast());
        // Streams are created by the ops layer through the runtime's default; nothing in Java owns one.
        infoMap.put(new Info("t4jc_stream_create").skip());
        // The list of t4jc_adamw_tensor lives in device memory, written by the ops layer as raw bytes.
        infoMap.put(AddressTypes.spelled("t4jc_adamw_multi",
                "@Cast(\"const t4jc_adamw_tensor*\") long list, int count, long max_n, float lr,"
                + " float beta1, float beta2, float eps, float weight_decay, int step, @Cast(\"void*\") long stream"));
        // These mix host arrays and device addresses of the same C type.
        infoMap.put(AddressTypes.spelled("t4jc_lora_multi_fwd",
                AddressTypes.LORA_MULTI_FWD + ", @Cast(\"void*\") long stream"));
        infoMap.put(AddressTypes.spelled("t4jc_sumsq_multi",
                "@Cast(\"double*\") long out_dev, @Cast(\"const float* const*\") long ptrs,"
                + " @Cast(\"const int64_t*\") long ns, int count, long max_n, @Cast(\"void*\") long stream"));
        infoMap.put(AddressTypes.spelled("t4jc_lmhead_cross_entropy_acc",
                "@Cast(\"double*\") long acc_dev, @Cast(\"float*\") long dh,"
                + " @Cast(\"float*\") long dw, @Cast(\"const float*\") long h, @Cast(\"const float*\") long w,"
                + " @Cast(\"const int32_t*\") long targets, int M, int d, int V, float softcap, float grad_scale,"
                + " @Cast(\"float*\") long ws, int block_rows, @Cast(\"void*\") long stream"));
        infoMap.put(AddressTypes.spelled("t4jc_loss_take",
                "double[] out, @Cast(\"double*\") long acc_dev, @Cast(\"void*\") long stream"));
    }
}
