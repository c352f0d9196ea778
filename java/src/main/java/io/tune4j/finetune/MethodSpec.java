package io.tune4j.finetune;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.tune4j.ops.Activation;
import io.tune4j.peft.AdapterConfig;
import io.tune4j.peft.AdapterMethod;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.FullMethod;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import io.tune4j.peft.PrefixConfig;
import io.tune4j.peft.PrefixMethod;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Which fine-tuning method a run uses and its settings; unset fields take the method's defaults. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record MethodSpec(String type, Integer r, Float alpha, Float dropout, List<String> targetModules, Boolean rsLora,
                         String adapterKind, Integer bottleneck, String activation, Integer virtualTokens,
                         Boolean prefixProjection, Integer prefixHidden, List<String> modulesToSave) {

    public MethodSpec {
        type = type == null ? "lora" : type.toLowerCase(Locale.ROOT);
        if (!List.of("lora", "adapter", "prefix", "full").contains(type)) {
            throw new IllegalArgumentException("method: unknown type '" + type + "' (expected lora, adapter, prefix or full)");
        }
        if (modulesToSave != null && !modulesToSave.isEmpty() && !type.equals("lora")) {
            throw new IllegalArgumentException("method: modulesToSave is a LoRA setting (PEFT's modules_to_save), not one of '"
                    + type + "'");
        }
    }

    public static MethodSpec of(String type) {
        return new MethodSpec(type, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    /** Builds the method; errors (unknown module, rank <= 0) surface here, before any training. */
    public FineTuneMethod create(Path modelSource, long seed) {
        switch (type) {
            case "lora": {
                LoraConfig d = LoraConfig.defaults();
                return new LoraMethod(new LoraConfig(r != null ? r : d.r(), alpha != null ? alpha : d.alpha(),
                        dropout != null ? dropout : d.dropout(), targetModules != null ? targetModules : d.targetModules(),
                        rsLora != null ? rsLora : d.useRsLora(), seed,
                        modulesToSave != null ? modulesToSave : d.modulesToSave()));
            }
            case "adapter": {
                AdapterConfig d = AdapterConfig.defaults();
                return new AdapterMethod(new AdapterConfig(adapterKind != null ? AdapterConfig.parseKind(adapterKind) : d.kind(),
                        bottleneck != null ? bottleneck : d.bottleneck(),
                        activation != null ? Activation.parse(activation) : d.activation(), d.initStd(), seed));
            }
            case "prefix": {
                PrefixConfig d = PrefixConfig.defaults();
                return new PrefixMethod(new PrefixConfig(virtualTokens != null ? virtualTokens : d.numVirtualTokens(),
                        prefixProjection != null ? prefixProjection : d.prefixProjection(),
                        prefixHidden != null ? prefixHidden : d.encoderHiddenSize(), seed));
            }
            default:
                return new FullMethod(modelSource);
        }
    }

    /** Where the deployable result goes inside the run directory. */
    public String resultDirName() {
        return type.equals("full") ? "model" : "adapter";
    }
}
