package io.tune4j.server;

import io.tune4j.grpc.v1.ChatMessage;
import io.tune4j.grpc.v1.GenerateRequest;
import java.util.ArrayList;
import java.util.List;

/** Reads a gRPC {@link GenerateRequest} into the transport-neutral {@link GenerationRequest}; proto3 optionals unset mean "not given". */
final class GrpcGenerateRequest {
    private GrpcGenerateRequest() {}

    static GenerationRequest.Checked check(GenerateRequest r, Services s) {
        List<GenerationRequest.Turn> turns = null;
        if (r.getMessagesCount() > 0) {
            turns = new ArrayList<>(r.getMessagesCount());
            for (ChatMessage m : r.getMessagesList()) turns.add(new GenerationRequest.Turn(m.getRole(), m.getContent()));
        }
        GenerationRequest g = new GenerationRequest(r.getModel(), r.getPrompt().isEmpty() ? null : r.getPrompt(), turns,
                r.hasMaxTokens() ? r.getMaxTokens() : null, r.hasTemperature() ? (double) r.getTemperature() : null,
                r.hasTopP() ? (double) r.getTopP() : null, r.hasTopK() ? r.getTopK() : null, r.hasSeed() ? r.getSeed() : null,
                r.getStopList(), r.getIgnoreEos());
        return g.check(s, GenerationRequest.Shape.EITHER, "ListModels");
    }
}
