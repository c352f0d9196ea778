package io.tune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.model.io.SafetensorsWriter;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * What every adapter-style method shares: it attaches to one model at a time over a frozen base,
 * can be switched off (leaving the base model), saves adapter_config.json with its peft_type next
 * to adapter_model.safetensors, and loads that pair back frozen for inference. Subclasses supply
 * their modules and their fields.
 */
public abstract class PeftMethod implements FineTuneMethod {
    private final String label;
    private LlamaModel model;
    private String baseModel;

    /** @param label how messages name the method ("LoRA", "adapters", "prefix") */
    protected PeftMethod(String label) {
        this.label = label;
    }

    /** The peft_type written into adapter_config.json. */
    protected abstract String peftType();

    /** Refuses a model it cannot attach to, before anything in the model changes. */
    protected void checkAttachable(LlamaModel model) {}

    /** Adds the method's modules to model (whose weights are frozen by now) and makes them trainable. */
    protected abstract void install(LlamaModel model);

    /** Puts the method's modules in (true) or the base model's back (false). */
    protected abstract void enable(boolean enabled);

    protected abstract void writeWeights(SafetensorsWriter w);

    /** The method's own fields of adapter_config.json (peft_type, task_type and the base model are written here). */
    protected abstract void writeConfig(ObjectNode c);

    /** Takes the method out of model (null when it never attached) and frees what it holds. */
    protected abstract void release(LlamaModel model);

    /** base_model_name_or_path written into adapter_config.json. */
    public PeftMethod baseModel(String nameOrPath) {
        this.baseModel = nameOrPath;
        return this;
    }

    public String baseModel() {
        return baseModel;
    }

    /** The model it is attached to, or null. */
    protected final LlamaModel model() {
        return model;
    }

    protected final LlamaModel requireAttached() {
        if (model == null) throw new IllegalStateException(label + " is not attached to a model");
        return model;
    }

    @Override
    public final void attach(LlamaModel model) {
        if (this.model != null) throw new IllegalStateException(label + " is already attached to a model");
        checkAttachable(model);
        for (Parameter p : model.parameters()) p.freeze();
        this.model = model;
        install(model);
    }

    @Override
    public boolean canDisable() {
        return true;
    }

    @Override
    public final void setEnabled(boolean enabled) {
        requireAttached();
        enable(enabled);
    }

    @Override
    public final void save(Path dir) {
        requireAttached();
        SafetensorsWriter w = new SafetensorsWriter().stagingFrom(model().ops()).metadata("format", "pt");
        writeWeights(w);
        w.write(dir.resolve(PeftFiles.WEIGHTS));
        ObjectNode c = PeftFiles.object();
        c.put("peft_type", peftType());
        c.put("task_type", "CAUSAL_LM");
        writeConfig(c);
        c.put("base_model_name_or_path", baseModel);
        c.put("inference_mode", true);
        PeftFiles.writeJson(dir.resolve(PeftFiles.CONFIG), c);
    }

    @Override
    public final void close() {
        release(model);
        model = null;
    }

    /** dir/adapter_config.json, checked to carry peft_type; errors name the file. */
    protected static JsonNode readConfig(Path dir, String peftType) {
        JsonNode c = PeftFiles.readConfig(dir);
        Path file = dir.resolve(PeftFiles.CONFIG);
        String type = PeftFiles.reqText(file, c, "peft_type");
        if (!type.equals(peftType)) throw new ModelFormatException(file, "peft_type is " + type + ", expected " + peftType);
        return c;
    }

    /**
     * The common end of every load: attaches m (configured from config), lets read fill its weights
     * from dir's adapter_model.safetensors, and leaves it frozen in inference mode; on failure the
     * model is left as it was.
     */
    protected static <M extends PeftMethod> M attachSaved(M m, Path dir, JsonNode config, LlamaModel model,
                                                          Consumer<SafetensorsFile> read) {
        m.baseModel(config.hasNonNull("base_model_name_or_path") ? config.get("base_model_name_or_path").asText() : null);
        m.attach(model);
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(PeftFiles.WEIGHTS))) {
            read.accept(f);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        m.setTraining(false);
        for (Parameter p : m.trainableParameters()) p.freeze();
        return m;
    }
}
