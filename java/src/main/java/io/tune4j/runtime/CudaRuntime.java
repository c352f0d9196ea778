package io.tune4j.runtime;

/**
 * Loads {@link CudaLib} once and remembers why it could not be used: the JNI library may not exist
 * (built without nvcc), or the driver / GPU may be missing. Nothing here throws; callers ask
 * {@link #available()} and report {@link #unavailableReason()}.
 */
public final class CudaRuntime {
    private static final String REASON;
    private static final int DEVICES;

    static {
        String reason = null;
        int devices = 0;
        try {
            devices = CudaLib.t4jc_device_count();
            if (devices <= 0) reason = "no CUDA device (" + CudaLib.t4jc_last_error() + ")";
        } catch (UnsatisfiedLinkError | ExceptionInInitializerError | NoClassDefFoundError e) {
            reason = "CUDA library not loadable: " + e;
        }
        REASON = reason;
        DEVICES = devices;
    }

    private CudaRuntime() {}

    public static boolean available() {
        return REASON == null;
    }

    public static int deviceCount() {
        return DEVICES;
    }

    /** Why CUDA cannot be used, or null when it can. */
    public static String unavailableReason() {
        return REASON;
    }
}
