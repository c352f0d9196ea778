package io.tune4j.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.util.Set;

/**
 * Bearer API keys: every path but /health needs a key (401 without a known one); adapter management,
 * files and fine-tuning jobs need the admin scope, the rest inference (403 otherwise). With no keys
 * (--insecure) all pass.
 */
final class AuthHandler extends ChannelInboundHandlerAdapter {
    private final ApiKeys keys;

    AuthHandler(ApiKeys keys) {
        this.keys = keys;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest req) || keys.isEmpty()) {
            ctx.fireChannelRead(msg);
            return;
        }
        String path = new QueryStringDecoder(req.uri()).path();
        if (path.equals("/health")) {
            ctx.fireChannelRead(msg);
            return;
        }
        String header = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        Set<ApiKeys.Scope> scopes = null;
        if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) scopes = keys.scopesOf(header.substring(7).strip());
        ApiKeys.Scope needed = needsAdmin(path) ? ApiKeys.Scope.ADMIN : ApiKeys.Scope.INFERENCE;
        ApiException denied = null;
        if (scopes == null) {
            denied = new ApiException(HttpResponseStatus.UNAUTHORIZED, "invalid_request_error", null, "invalid_api_key",
                    header == null ? "missing API key: send 'Authorization: Bearer KEY'" : "incorrect API key");
        } else if (!scopes.contains(needed)) {
            denied = new ApiException(HttpResponseStatus.FORBIDDEN, "permission_error", null, "insufficient_scope",
                    "this API key lacks the '" + needed.name().toLowerCase(java.util.Locale.ROOT) + "' scope");
        }
        if (denied == null) {
            ctx.fireChannelRead(msg);
            return;
        }
        ReferenceCountUtil.release(msg);
        FullHttpResponse r = Http.error(denied);
        if (denied.status == HttpResponseStatus.UNAUTHORIZED) r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
        ctx.writeAndFlush(r);
    }

    /** Paths that change what the server holds: adapters, uploaded files, training jobs. */
    static boolean needsAdmin(String path) {
        for (String root : new String[] {"/v1/adapters", "/v1/files", "/v1/fine_tuning"}) {
            if (path.equals(root) || path.startsWith(root + "/")) return true;
        }
        return false;
    }
}
