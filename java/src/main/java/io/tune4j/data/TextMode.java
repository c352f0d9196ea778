package io.tune4j.data;

/** How a plain-text file becomes documents. */
public enum TextMode {
    /** One document per paragraph; paragraphs are separated by one or more blank lines. */
    PARAGRAPHS,
    /**
     * The whole file is one document, cut into sequence-length chunks after tokenisation
     * (language-model style domain adaptation).
     */
    WHOLE_FILE
}
