package io.tune4j.testing;

import io.tune4j.ops.Ops;
import io.tune4j.ops.cuda.CudaOps;
import io.tune4j.tensor.Device;
import io.tune4j.tensor.Tensor;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Lets host-tensor op tests drive the CUDA backend: every host tensor argument is uploaded before
 * the call and downloaded back into the same host tensor after it, so in-place outputs and
 * accumulated gradients land where the test reads them. Arguments sharing an address (aliased
 * outputs such as add(y, y, b)) share one device copy, keeping the aliasing the op sees.
 */
public final class HostStaging implements InvocationHandler {
    private final CudaOps cuda;

    private HostStaging(CudaOps cuda) {
        this.cuda = cuda;
    }

    public static Ops wrap(CudaOps cuda) {
        return (Ops) Proxy.newProxyInstance(Ops.class.getClassLoader(), new Class<?>[] {Ops.class}, new HostStaging(cuda));
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        if (method.getDeclaringClass() == Object.class) {
            switch (method.getName()) {
                case "toString": return cuda.name();
                case "hashCode": return System.identityHashCode(proxy);
                case "equals": return proxy == args[0];
                default: throw new UnsupportedOperationException(method.getName());
            }
        }
        Object[] devArgs = args == null ? null : args.clone();
        Map<Long, Tensor> byAddress = new LinkedHashMap<>();
        Map<Tensor, Tensor> hostOf = new IdentityHashMap<>();
        try {
            if (devArgs != null) {
                for (int i = 0; i < devArgs.length; i++) {
                    if (devArgs[i] instanceof Tensor host) {
                        devArgs[i] = stage(host, byAddress, hostOf);
                    } else if (devArgs[i] instanceof java.util.List<?> list && list.stream().allMatch(e -> e instanceof Tensor)) {
                        // a list of tensors (the gradient norm): each staged like a plain argument
                        java.util.List<Tensor> devs = new java.util.ArrayList<>();
                        for (Object e : list) devs.add(stage((Tensor) e, byAddress, hostOf));
                        devArgs[i] = devs;
                    } else if (devArgs[i] instanceof Tensor[] hosts) {
                        // per-slot tables (multi-adapter LoRA): each tensor is staged like a plain argument
                        Tensor[] devs = hosts.clone();
                        for (int j = 0; j < devs.length; j++) if (devs[j] != null) devs[j] = stage(devs[j], byAddress, hostOf);
                        devArgs[i] = devs;
                    }
                }
            }
            Object result;
            try {
                result = method.invoke(cuda, devArgs);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            for (Map.Entry<Tensor, Tensor> e : hostOf.entrySet()) cuda.copyToHost(e.getValue(), e.getKey());
            return result;
        } finally {
            for (Tensor dev : hostOf.keySet()) dev.close();
        }
    }

    private Tensor stage(Tensor host, Map<Long, Tensor> byAddress, Map<Tensor, Tensor> hostOf) {
        if (host.device() != Device.CPU) return host;
        Tensor dev = byAddress.get(host.address());
        if (dev == null || dev.bytes() < host.bytes()) {
            dev = cuda.upload(host);
            byAddress.put(host.address(), dev);
            hostOf.put(dev, host);
        }
        return dev;
    }
}
