package io.tune4j.data;

import java.util.List;

/** Tokenised train and validation examples (validation may be empty) and what preparing them did. */
public record PreparedDataset(List<TokenizedExample> train, List<TokenizedExample> validation, DataReport report) {
    public PreparedDataset {
        train = List.copyOf(train);
        validation = List.copyOf(validation);
    }
}
