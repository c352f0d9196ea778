// Preference-tuning losses over per-sequence log-probabilities of N (chosen, rejected) pairs, each fused with
// its gradient. The gradients come back as per-sequence weights, which t4j_lmhead_sequence_logprobs turns
// into the gradient of the LM head input.
#include "tune4j.h"

#include <cmath>

namespace {

// log sigma(z) without overflow for large |z|
double log_sigmoid(double z) {
    return z >= 0 ? -std::log1p(std::exp(-z)) : z - std::log1p(std::exp(z));
}

double sigmoid(double z) {
    if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
    double e = std::exp(z);
    return e / (1.0 + e);
}

bool counted(const int32_t* nc, const int32_t* nr, int i) {
    return nc[i] > 0 && nr[i] > 0;
}

}  // namespace

int t4j_dpo_loss(double* sums, double* grad_chosen, double* grad_rejected, const double* policy_chosen,
                 const double* policy_rejected, const double* ref_chosen, const double* ref_rejected,
                 const int32_t* n_chosen, const int32_t* n_rejected, int N, double beta, double grad_scale) {
    if (N < 0 || !sums || !(beta > 0)) return T4J_EINVAL;
    double loss = 0, margin = 0, correct = 0, lpc = 0, lpr = 0;
    int pairs = 0;
    for (int i = 0; i < N; i++) {
        if (grad_chosen) grad_chosen[i] = 0;
        if (grad_rejected) grad_rejected[i] = 0;
        if (!counted(n_chosen, n_rejected, i)) continue;
        const double rc = beta * (policy_chosen[i] - ref_chosen[i]);
        const double rr = beta * (policy_rejected[i] - ref_rejected[i]);
        const double z = rc - rr;
        loss -= log_sigmoid(z);
        margin += z;
        correct += z > 0 ? 1 : 0;
        lpc += policy_chosen[i];
        lpr += policy_rejected[i];
        // d(-log sigma(z))/dz = -sigma(-z); dz/dpolicy_chosen = beta, dz/dpolicy_rejected = -beta
        const double g = -sigmoid(-z) * beta * grad_scale;
        if (grad_chosen) grad_chosen[i] = g;
        if (grad_rejected) grad_rejected[i] = -g;
        pairs++;
    }
    sums[0] = loss;
    sums[1] = margin;
    sums[2] = correct;
    sums[3] = lpc;
    sums[4] = lpr;
    return pairs;
}

int t4j_orpo_loss(double* sums, double* grad_chosen, double* grad_rejected, const double* policy_chosen,
                  const double* policy_rejected, const int32_t* n_chosen, const int32_t* n_rejected, int N,
                  double lambda, double grad_scale) {
    if (N < 0 || !sums || lambda < 0) return T4J_EINVAL;
    double loss = 0, margin = 0, correct = 0, lpc = 0, lpr = 0;
    int pairs = 0;
    for (int i = 0; i < N; i++) {
        if (grad_chosen) grad_chosen[i] = 0;
        if (grad_rejected) grad_rejected[i] = 0;
        if (!counted(n_chosen, n_rejected, i)) continue;
        // length-normalised: odds of a long and a short response compare on the same footing
        const double ac = policy_chosen[i] / n_chosen[i];
        const double ar = policy_rejected[i] / n_rejected[i];
        // log odds(p) = log p - log(1 - p), with log(1 - e^a) = log(-expm1(a)) exact near p = 1
        const double one_minus_c = -std::expm1(ac), one_minus_r = -std::expm1(ar);
        const double ratio = (ac - std::log(one_minus_c)) - (ar - std::log(one_minus_r));
        loss += -ac - lambda * log_sigmoid(ratio);
        margin += ac - ar;
        correct += ac > ar ? 1 : 0;
        lpc += policy_chosen[i];
        lpr += policy_rejected[i];
        // d log odds(a)/da = 1 / (1 - e^a); d(-log sigma(ratio))/dratio = -sigma(-ratio)
        const double s = sigmoid(-ratio);
        const double d_ac = -1.0 - lambda * s / one_minus_c;
        const double d_ar = lambda * s / one_minus_r;
        if (grad_chosen) grad_chosen[i] = grad_scale * d_ac / n_chosen[i];
        if (grad_rejected) grad_rejected[i] = grad_scale * d_ar / n_rejected[i];
        pairs++;
    }
    sums[0] = loss;
    sums[1] = margin;
    sums[2] = correct;
    sums[3] = lpc;
    sums[4] = lpr;
    return pairs;
}
