package io.tune4j.train;

import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.peft.FineTuneMethod;
import java.nio.file.Path;
import java.util.List;

/** Test method: every parameter of the model trains; saves them all as one safetensors file. */
final class FullFineTune implements FineTuneMethod {
    private List<Parameter> params = List.of();

    @Override
    public String name() {
        return "full";
    }

    @Override
    public void attach(LlamaModel model) {
        params = model.parameters();
        for (Parameter p : params) p.requireGrad();
    }

    @Override
    public List<Parameter> trainableParameters() {
        return params;
    }

    @Override
    public void save(Path dir) {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        for (Parameter p : params) w.add(p.name(), p.value());
        w.write(dir.resolve("model.safetensors"));
    }
}
