package io.tune4j.server;

import io.tune4j.model.LlamaModel;
import io.tune4j.peft.LoraBank;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The LoRA adapters held in the model's {@link LoraBank}, by (name, directory), with the number of
 * sequences using each. A deleted adapter is retired: it keeps its slot until its last sequence
 * ends. When the bank is full, an adapter no sequence uses (least recently used first) makes room;
 * it is read again from its directory if asked for later. Scheduler thread only.
 */
final class LoraAdapters implements AutoCloseable {
    static final class Entry {
        final String name;
        final Path dir;
        final int slot;
        int users;
        boolean retired;
        long lastUse;

        Entry(String name, Path dir, int slot) {
            this.name = name;
            this.dir = dir;
            this.slot = slot;
        }
    }

    private final LoraBank bank;
    private final List<Entry> entries = new ArrayList<>();
    private long clock;

    LoraAdapters(LlamaModel model, int capacity) {
        this.bank = new LoraBank(model, capacity);
    }

    int capacity() {
        return bank.capacity();
    }

    int loaded() {
        return entries.size();
    }

    /** Whether (name, dir) is loaded and not retired. */
    boolean holds(String name, Path dir) {
        return live(name, dir) != null;
    }

    /**
     * The loaded adapter for (name, dir), reading it into the bank if needed; null when the bank is
     * full of adapters that running sequences use. Throws when the directory cannot be loaded.
     */
    Entry acquire(String name, Path dir) {
        Entry e = live(name, dir);
        if (e == null) {
            if (!bank.hasFreeSlot()) {
                Entry idle = null;
                for (Entry c : entries) if (c.users == 0 && (idle == null || c.lastUse < idle.lastUse)) idle = c;
                if (idle == null) return null;
                drop(idle);
            }
            e = new Entry(name, dir, bank.load(name, dir));
            entries.add(e);
        }
        e.lastUse = ++clock;
        return e;
    }

    void use(Entry e) {
        e.users++;
        e.lastUse = ++clock;
    }

    void release(Entry e) {
        e.users--;
        if (e.users <= 0 && e.retired) drop(e);
    }

    /** Retires every entry named name: freed now when unused, else when its last sequence ends. */
    void retire(String name) {
        for (Entry e : List.copyOf(entries)) {
            if (!e.name.equals(name)) continue;
            e.retired = true;
            if (e.users <= 0) drop(e);
        }
    }

    private Entry live(String name, Path dir) {
        for (Entry e : entries) if (!e.retired && e.name.equals(name) && Objects.equals(e.dir, dir)) return e;
        return null;
    }

    private void drop(Entry e) {
        bank.unload(e.slot);
        entries.remove(e);
    }

    /** Takes the bank's wrappers out of the model while an adapter that wraps the projections itself runs alone. */
    void suspend() {
        bank.suspend();
    }

    /** Puts the bank back after {@link #suspend} (a no-op when it is not suspended). */
    void resume() {
        bank.resume();
    }

    @Override
    public void close() {
        entries.clear();
        bank.close();
    }
}
