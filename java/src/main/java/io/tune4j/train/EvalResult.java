package io.tune4j.train;

/**
 * One validation pass.
 *
 * @param step optimiser step after which it ran
 * @param loss mean loss over the validation target tokens
 * @param tokens target tokens evaluated
 * @param improved whether it is the best validation loss so far
 * @param evalsWithoutImprovement consecutive passes without improvement, this one included
 */
public record EvalResult(int step, double loss, long tokens, boolean improved, int evalsWithoutImprovement) {}
