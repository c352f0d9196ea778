package io.tune4j.server;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.tune4j.grpc.v1.Job;
import io.tune4j.server.jobs.JobEvent;
import io.tune4j.server.jobs.JobInfo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Conversions between the job service's records and the tune4j.v1 messages. */
final class GrpcJobMessages {
    private GrpcJobMessages() {}

    static Job job(JobInfo j) {
        Job.Builder b = Job.newBuilder().setId(j.id()).setModel(str(j.model())).setStatus(str(j.status()))
                .setCreatedAt(j.createdAt()).setTrainingFile(str(j.trainingFile())).setValidationFile(str(j.validationFile()))
                .setMethodType(str(j.methodType())).setFineTunedModel(str(j.fineTunedModel())).setTrainedTokens(j.trainedTokens())
                .setStep(j.step()).setTotalSteps(j.totalSteps()).setError(str(j.error()));
        if (j.finishedAt() != null) b.setFinishedAt(j.finishedAt());
        return b.build();
    }

    static io.tune4j.grpc.v1.JobEvent event(JobEvent e) {
        io.tune4j.grpc.v1.JobEvent.Builder b = io.tune4j.grpc.v1.JobEvent.newBuilder().setSeq(e.seq()).setCreatedAt(e.createdAt())
                .setLevel(str(e.level())).setType(str(e.type())).setMessage(str(e.message()));
        if (e.data() != null) b.setData(struct(e.data()));
        return b.build();
    }

    static Struct struct(Map<String, ?> m) {
        Struct.Builder b = Struct.newBuilder();
        m.forEach((k, v) -> b.putFields(k, value(v)));
        return b.build();
    }

    private static Value value(Object v) {
        if (v == null) return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
        if (v instanceof Number n) return Value.newBuilder().setNumberValue(n.doubleValue()).build();
        if (v instanceof Boolean b) return Value.newBuilder().setBoolValue(b).build();
        if (v instanceof Map<?, ?> m) {
            Struct.Builder s = Struct.newBuilder();
            m.forEach((k, x) -> s.putFields(String.valueOf(k), value(x)));
            return Value.newBuilder().setStructValue(s).build();
        }
        if (v instanceof Iterable<?> it) {
            ListValue.Builder l = ListValue.newBuilder();
            for (Object x : it) l.addValues(value(x));
            return Value.newBuilder().setListValue(l).build();
        }
        return Value.newBuilder().setStringValue(v.toString()).build();
    }

    /**
     * Struct to the plain values JSON parsing gives the HTTP side: protobuf carries every number as a
     * double, so whole numbers come back as Integer or Long (n_epochs=3 must not read as 3.0).
     */
    static Map<String, Object> plain(Struct s) {
        Map<String, Object> out = new LinkedHashMap<>();
        s.getFieldsMap().forEach((k, v) -> out.put(k, plain(v)));
        return out;
    }

    private static Object plain(Value v) {
        return switch (v.getKindCase()) {
            case NULL_VALUE, KIND_NOT_SET -> null;
            case BOOL_VALUE -> v.getBoolValue();
            case STRING_VALUE -> v.getStringValue();
            case STRUCT_VALUE -> plain(v.getStructValue());
            case LIST_VALUE -> {
                List<Object> l = new ArrayList<>();
                for (Value x : v.getListValue().getValuesList()) l.add(plain(x));
                yield l;
            }
            case NUMBER_VALUE -> {
                double d = v.getNumberValue();
                if (d == Math.rint(d) && Math.abs(d) < 9.007199254740992E15) {
                    long n = (long) d;
                    yield n == (int) n ? (Object) (int) n : (Object) n;
                }
                yield d;
            }
        };
    }

    private static String str(String s) {
        return s == null ? "" : s;
    }
}
