package io.tune4j.train.objective;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Locale;

/** What a run optimises: next-token likelihood of the targets, or a preference between response pairs. */
public enum Objective {
    /** Supervised fine-tuning: mean cross-entropy over the target tokens. */
    @JsonProperty("sft") SFT,
    /** Direct preference optimisation against a frozen reference. */
    @JsonProperty("dpo") DPO,
    /** Odds-ratio preference optimisation: SFT on the chosen response plus an odds-ratio term; no reference. */
    @JsonProperty("orpo") ORPO;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the data are (chosen, rejected) pairs. */
    public boolean preference() {
        return this != SFT;
    }

    public static Objective parse(String s) {
        return switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "sft" -> SFT;
            case "dpo" -> DPO;
            case "orpo" -> ORPO;
            default -> throw new IllegalArgumentException("objective: expected sft, dpo or orpo, got '" + s + "'");
        };
    }
}
