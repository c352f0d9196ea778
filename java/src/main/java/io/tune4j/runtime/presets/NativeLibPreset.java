package io.tune4j.runtime.presets;

import io.tune4j.runtime.OpenMpWait;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;
import org.bytedeco.javacpp.tools.InfoMap;
import org.bytedeco.javacpp.tools.InfoMapper;

/**
 * Generates {@code io.tune4j.runtime.NativeLib}, the JNI entry points of libtune4j_native, from
 * native/include/tune4j.h at build time: the header is the one place an op's C signature is written.
 * Application code goes through {@link io.tune4j.ops.Ops}, never through the generated class.
 */
@Properties(target = "io.tune4j.runtime.NativeLib", value = @Platform(include = "tune4j.h", link = "tune4j_native"))
public class NativeLibPreset implements InfoMapper {
    static {
        // The parser instantiates this class with loading switched off, and without OpenBLAS on its class
        // path: only a real load reaches the class that needs it.
        if (Loader.isLoadLibraries()) Dependencies.load();
    }

    private static final class Dependencies {
        static void load() {
            // libtune4j_native needs libopenblas.so.0; loading the preset first puts it in the process
            // so the dynamic linker resolves our dependency by soname.
            Loader.load(org.bytedeco.openblas.global.openblas_nolapack.class);
            OpenMpWait.checkEnvironment();
        }
    }

    @Override
    public void map(InfoMap infoMap) {
        AddressTypes.map(infoMap);
        // These mix host arrays (per-slot pointers, ranks, scales, per-sequence results) with tensor
        // addresses of the same C type.
        infoMap.put(AddressTypes.spelled("t4j_lora_multi_fwd", AddressTypes.LORA_MULTI_FWD));
        infoMap.put(AddressTypes.spelled("t4j_lmhead_sequence_logprobs",
                "double[] logp, @Cast(\"int32_t*\") int[] counts,"
                + " @Cast(\"float*\") long dh, @Cast(\"float*\") long dw, @Cast(\"const float*\") long h,"
                + " @Cast(\"const float*\") long w, @Cast(\"const int32_t*\") long targets,"
                + " @Cast(\"const float*\") float[] seq_weight, int B, int T, int d, int V, float softcap,"
                + " @Cast(\"float*\") long ws, int block_rows"));
        infoMap.put(AddressTypes.spelled("t4j_dpo_loss",
                "double[] sums, double[] grad_chosen, double[] grad_rejected,"
                + " @Cast(\"const double*\") double[] policy_chosen, @Cast(\"const double*\") double[] policy_rejected,"
                + " @Cast(\"const double*\") double[] ref_chosen, @Cast(\"const double*\") double[] ref_rejected,"
                + " @Cast(\"const int32_t*\") int[] n_chosen, @Cast(\"const int32_t*\") int[] n_rejected, int N,"
                + " double beta, double grad_scale"));
        infoMap.put(AddressTypes.spelled("t4j_orpo_loss",
                "double[] sums, double[] grad_chosen, double[] grad_rejected,"
                + " @Cast(\"const double*\") double[] policy_chosen, @Cast(\"const double*\") double[] policy_rejected,"
                + " @Cast(\"const int32_t*\") int[] n_chosen, @Cast(\"const int32_t*\") int[] n_rejected, int N,"
                + " double lambda, double grad_scale"));
    }
}
