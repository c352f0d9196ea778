package io.tune4j.runtime.presets;

import org.bytedeco.javacpp.tools.Info;
import org.bytedeco.javacpp.tools.InfoMap;

/**
 * How JavaCPP's parser turns the C headers' pointer types into Java.
 *
 * <p>Tensor buffers (float, int32, uint16, void pointers) travel as raw addresses so a call allocates
 * nothing on the Java heap; {@link io.tune4j.tensor.Tensor} owns the memory behind them. The few
 * double and int64 pointers in the headers are host results and lengths, so they stay arrays.
 */
final class AddressTypes {
    private AddressTypes() {}

    static void map(InfoMap infoMap) {
        infoMap.put(new Info("float").valueTypes("float").pointerTypes("@Cast(\"float*\") long"));
        infoMap.put(new Info("int32_t").valueTypes("int").pointerTypes("@Cast(\"int32_t*\") long"));
        infoMap.put(new Info("uint16_t").valueTypes("short").pointerTypes("@Cast(\"uint16_t*\") long"));
        infoMap.put(new Info("void").valueTypes("void").pointerTypes("@Cast(\"void*\") long"));
        infoMap.put(new Info("double").valueTypes("double").pointerTypes("double[]"));
        infoMap.put(new Info("int64_t").cast().valueTypes("long").pointerTypes("long[]"));
    }

    /** A declaration the parser cannot type alone, written out: one C type in two roles. */
    static Info spelled(String name, String params) {
        return new Info(name).javaText("public static native int " + name + "(" + params + ");\n");
    }

    /** lora_multi_fwd's arguments on both backends: per-slot A/B pointers, ranks and scales are host arrays. */
    static final String LORA_MULTI_FWD = "@Cast(\"float*\") long y, @Cast(\"const float*\") long x,"
            + " @Cast(\"const int32_t*\") long row_slot, int M, int K, int N, @Cast(\"const float* const*\") long[] a,"
            + " @Cast(\"const float* const*\") long[] b, @Cast(\"const int32_t*\") int[] ranks,"
            + " @Cast(\"const float*\") float[] scales, int n_slots, int max_r, @Cast(\"float*\") long ws";
}
