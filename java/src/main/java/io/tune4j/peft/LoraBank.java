package io.tune4j.peft;

import io.tune4j.model.DecoderLayer;
import io.tune4j.model.DenseProjection;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Projection;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Many LoRA adapters loaded at once over one base model, for serving. Each adapter takes a slot;
 * its target projections are wrapped (once, on first use) by a {@link MultiLoraProjection} that
 * adds, for every row of a decoding step, the adapter of that row's slot, so sequences for
 * different adapters and for the base model share one batch. Loading or unloading an adapter does
 * not change what the other slots or the base model compute, so it may happen between any two
 * steps; an unloaded slot must no longer be named by a running sequence. Inference only; one thread.
 */
public final class LoraBank implements AutoCloseable {
    /** The most adapters a bank holds: what the CUDA op takes in one launch. */
    public static final int MAX_SLOTS = 64;

    private final LlamaModel model;
    private final String[] names;
    private final List<String> modules;              // the model's projections (PeftFiles.modules)
    private final MultiLoraProjection[][] wrappers; // [layer][module index in modules]
    private DenseProjection[][] suspendedBases;      // the base projections while suspended, else null

    public LoraBank(LlamaModel model, int capacity) {
        if (capacity < 1 || capacity > MAX_SLOTS) {
            throw new IllegalArgumentException("LoRA bank capacity must be in [1, " + MAX_SLOTS + "], got " + capacity);
        }
        this.model = model;
        this.modules = PeftFiles.modules(model.config());
        this.names = new String[capacity];
        this.wrappers = new MultiLoraProjection[model.layers().size()][modules.size()];
    }

    public int capacity() {
        return names.length;
    }

    /** Adapters loaded now. */
    public int size() {
        int n = 0;
        for (String s : names) if (s != null) n++;
        return n;
    }

    public boolean hasFreeSlot() {
        return size() < names.length;
    }

    /** The name given to the adapter in slot, or null when the slot is free. */
    public String name(int slot) {
        return names[slot];
    }

    /**
     * Reads a PEFT LoRA directory (as {@link LoraMethod#load} does, any of F32/F16/BF16) into a free
     * slot and returns the slot. Nothing changes when it fails.
     */
    public int load(String name, Path dir) {
        int slot = -1;
        for (int i = 0; i < names.length && slot < 0; i++) if (names[i] == null) slot = i;
        if (slot < 0) throw new IllegalStateException("all " + names.length + " LoRA adapter slots are in use");
        LoraMethod.Saved saved = LoraMethod.readConfig(dir);
        LoraConfig cfg = saved.config();
        if (!cfg.modulesToSave().isEmpty()) {
            throw new IllegalArgumentException(dir + ": the adapter trains whole modules too (modules_to_save "
                    + cfg.modulesToSave() + "), which replace base weights for every row; it cannot share a LoRA bank "
                    + "(attach it alone with Adapters.load)");
        }
        List<String> targets = cfg.targetModules();
        LoraMethod.requireProjections(model, targets);
        for (DecoderLayer layer : model.layers()) {
            if (suspendedBases != null) break; // the bases are known; the layers may hold another method's wrappers
            for (String module : targets) {
                Projection p = layer.projection(module);
                if (!(p instanceof DenseProjection) && !(p instanceof MultiLoraProjection)) {
                    throw new IllegalStateException("layer " + layer.index() + " " + module + " is wrapped by "
                            + p.getClass().getSimpleName() + "; a LoRA bank needs the base projections");
                }
            }
        }
        // read everything first, so that a bad file leaves the model as it was
        int L = model.layers().size(), r = cfg.r();
        Tensor[][] as = new Tensor[L][targets.size()], bs = new Tensor[L][targets.size()];
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(PeftFiles.WEIGHTS))) {
            for (DecoderLayer layer : model.layers()) {
                for (int mi = 0; mi < targets.size(); mi++) {
                    Projection p = layer.projection(targets.get(mi));
                    String key = PeftFiles.KEY_PREFIX + PeftFiles.modulePath(layer.index(), targets.get(mi));
                    int l = layer.index();
                    as[l][mi] = model.ops().allocate(DType.F32, r, p.inFeatures());
                    bs[l][mi] = model.ops().allocate(DType.F32, p.outFeatures(), r);
                    PeftFiles.copy(model.ops(), f, key + ".lora_A.weight", as[l][mi]);
                    PeftFiles.copy(model.ops(), f, key + ".lora_B.weight", bs[l][mi]);
                }
            }
        } catch (RuntimeException e) {
            for (Tensor[] row : as) for (Tensor t : row) if (t != null) t.close();
            for (Tensor[] row : bs) for (Tensor t : row) if (t != null) t.close();
            throw e;
        }
        for (DecoderLayer layer : model.layers()) {
            for (int mi = 0; mi < targets.size(); mi++) {
                wrapper(layer, targets.get(mi)).set(slot, as[layer.index()][mi], bs[layer.index()][mi], cfg.scale());
            }
        }
        names[slot] = name;
        return slot;
    }

    /** Frees the slot's weights; no running sequence may use the slot any more. */
    public void unload(int slot) {
        if (names[slot] == null) return;
        for (MultiLoraProjection[] layer : wrappers) for (MultiLoraProjection w : layer) if (w != null) w.clear(slot);
        names[slot] = null;
    }

    private MultiLoraProjection wrapper(DecoderLayer layer, String module) {
        int mi = modules.indexOf(module);
        MultiLoraProjection w = wrappers[layer.index()][mi];
        if (w == null) {
            DenseProjection base = suspendedBases != null ? suspendedBases[layer.index()][mi]
                    : (DenseProjection) layer.projection(module);
            w = new MultiLoraProjection(model.ops(), base, names.length);
            if (suspendedBases == null) layer.replaceProjection(module, w); // else resume() installs it
            wrappers[layer.index()][mi] = w;
        }
        return w;
    }

    /**
     * Puts the base projections back into the model, for a method that wraps them itself and runs
     * alone (a LoRA adapter with modules_to_save); the loaded adapters stay, and adapters may still
     * be loaded and unloaded. {@link #resume} reinstalls the bank once that method is detached. No
     * sequence may use a slot while suspended.
     */
    public void suspend() {
        if (suspendedBases != null) return;
        DenseProjection[][] bases = new DenseProjection[wrappers.length][modules.size()];
        for (DecoderLayer layer : model.layers()) {
            for (int mi = 0; mi < modules.size(); mi++) {
                Projection p = layer.projection(modules.get(mi));
                MultiLoraProjection w = wrappers[layer.index()][mi];
                if (w != null && p == w) {
                    bases[layer.index()][mi] = w.base();
                } else if (p instanceof DenseProjection d) {
                    bases[layer.index()][mi] = d;
                } else {
                    throw new IllegalStateException("layer " + layer.index() + " " + modules.get(mi)
                            + " is wrapped by " + p.getClass().getSimpleName() + "; the LoRA bank cannot be suspended");
                }
            }
        }
        for (DecoderLayer layer : model.layers()) {
            for (int mi = 0; mi < modules.size(); mi++) {
                MultiLoraProjection w = wrappers[layer.index()][mi];
                if (w != null) layer.replaceProjection(modules.get(mi), w.base());
            }
        }
        suspendedBases = bases;
    }

    /** Reinstalls the bank after {@link #suspend}; the method attached meanwhile must be detached. */
    public void resume() {
        if (suspendedBases == null) return;
        for (DecoderLayer layer : model.layers()) {
            for (int mi = 0; mi < modules.size(); mi++) {
                Projection p = layer.projection(modules.get(mi));
                if (p != suspendedBases[layer.index()][mi]) {
                    throw new IllegalStateException("layer " + layer.index() + " " + modules.get(mi)
                            + " is still wrapped by " + p.getClass().getSimpleName() + "; detach it before resuming the LoRA bank");
                }
            }
        }
        for (DecoderLayer layer : model.layers()) {
            for (int mi = 0; mi < modules.size(); mi++) {
                MultiLoraProjection w = wrappers[layer.index()][mi];
                if (w != null) layer.replaceProjection(modules.get(mi), w);
            }
        }
        suspendedBases = null;
    }

    public boolean suspended() {
        return suspendedBases != null;
    }

    /** The wrapped projections, for inspection: layer by layer, in the order of the model's projections, null where none. */
    public List<MultiLoraProjection> projections() {
        List<MultiLoraProjection> out = new ArrayList<>();
        for (MultiLoraProjection[] layer : wrappers) for (MultiLoraProjection w : layer) out.add(w);
        return out;
    }

    /** Unloads every adapter and puts the base projections back. */
    @Override
    public void close() {
        for (DecoderLayer layer : model.layers()) {
            for (int mi = 0; mi < modules.size(); mi++) {
                MultiLoraProjection w = wrappers[layer.index()][mi];
                if (w == null) continue;
                String module = modules.get(mi);
                if (layer.projection(module) == w) layer.replaceProjection(module, w.base());
                w.close();
                wrappers[layer.index()][mi] = null;
            }
        }
        java.util.Arrays.fill(names, null);
    }
}
