package io.tune4j.eval;

/** How exact match compares a prediction with its reference. */
public enum AnswerFormat {
    /** The whole normalised text must match. */
    TEXT,
    /**
     * GSM8K style: the number after the last "####", else the last number in the text, compared
     * as a canonical numeral (commas dropped, trailing decimal zeros removed).
     */
    NUMBER
}
