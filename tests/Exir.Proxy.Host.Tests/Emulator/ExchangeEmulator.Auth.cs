using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Exir.Proxy.Host.Tests.Emulator;

public sealed partial class ExchangeEmulator
{
    private const string ChallengeKey = "emu.ntlm.challenge";
    private const string UserKey = "emu.ntlm.user";
    /// <summary>A refused login with a declared body above this is answered without reading the body, then the connection closes.</summary>
    private const long MaxBodyReadOnRefusal = 1 << 20;

    /// <summary>
    /// IIS Windows authentication as Exchange's virtual directories have it: NTLM bound to the connection (a type 3
    /// counts only on the connection that received the challenge; afterwards the connection stays logged on), and
    /// Basic per request where <paramref name="basic"/>. Returns the user, "" when anonymous is allowed, or null
    /// when it answered 401 itself.
    /// </summary>
    private async Task<string?> AuthenticateAsync(HttpContext ctx, RecordedRequest rec, bool basic)
    {
        var items = ctx.Features.Get<IConnectionItemsFeature>()!.Items;
        var auth = ctx.Request.Headers.Authorization.ToString();
        var space = auth.IndexOf(' ');
        var scheme = space > 0 ? auth[..space] : auth;
        var token = space > 0 ? auth[(space + 1)..].Trim() : "";

        if (scheme.Equals("NTLM", StringComparison.OrdinalIgnoreCase) || scheme.Equals("Negotiate", StringComparison.OrdinalIgnoreCase))
        {
            byte[] message;
            try { message = Convert.FromBase64String(token); }
            catch (FormatException) { return await RefuseAsync(ctx, rec, basic, "bad-token"); }
            switch (NtlmMessages.MessageType(message))
            {
                case 1:
                {
                    var challenge = RandomNumberGenerator.GetBytes(8);
                    items[ChallengeKey] = challenge;
                    items.Remove(UserKey);
                    rec.AuthNote = "ntlm-challenge";
                    if (!await ReadOrDropBodyAsync(ctx, rec)) return null;
                    ctx.Response.StatusCode = 401;
                    ctx.Response.Headers.WWWAuthenticate = $"{scheme} {Convert.ToBase64String(NtlmMessages.Type2(challenge, Options.Domain))}";
                    await WriteUnauthorizedBodyAsync(ctx);
                    await CloseIfBodyDroppedAsync(ctx, rec);
                    return null;
                }
                case 3:
                {
                    if (!items.TryGetValue(ChallengeKey, out var c) || c is not byte[] challenge)
                        return await RefuseAsync(ctx, rec, basic, "ntlm-no-challenge-on-connection");
                    items.Remove(ChallengeKey); // one use
                    if (!NtlmMessages.TryParseType3(message, out _, out var user, out var proof))
                        return await RefuseAsync(ctx, rec, basic, "ntlm-bad-type3");
                    if (!Options.Users.TryGetValue(user, out var password) ||
                        !CryptographicOperations.FixedTimeEquals(proof, NtlmMessages.Proof(password, challenge)))
                    {
                        CountFailure(user);
                        return await RefuseAsync(ctx, rec, basic, "ntlm-wrong-password");
                    }
                    items[UserKey] = user;
                    rec.AuthNote = "ntlm-ok";
                    ctx.Response.Headers["Persistent-Auth"] = "true";
                    return user;
                }
                default:
                    return await RefuseAsync(ctx, rec, basic, "not-ntlm");
            }
        }

        if (scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) && basic)
        {
            string text;
            try { text = Encoding.UTF8.GetString(Convert.FromBase64String(token)); }
            catch (FormatException) { return await RefuseAsync(ctx, rec, basic, "bad-token"); }
            var colon = text.IndexOf(':');
            var user = AccountName(colon < 0 ? text : text[..colon]);
            if (colon < 0 || !CheckPassword(user, text[(colon + 1)..]))
            {
                CountFailure(user);
                return await RefuseAsync(ctx, rec, basic, "basic-wrong-password");
            }
            rec.AuthNote = "basic-ok";
            return user;
        }

        if (items.TryGetValue(UserKey, out var logged) && logged is string connectionUser)
        {
            rec.AuthNote = "ntlm-connection";
            return connectionUser;
        }
        if (!Options.RequireAuthentication && auth.Length == 0)
        {
            rec.AuthNote = "anonymous-allowed";
            return "";
        }
        return await RefuseAsync(ctx, rec, basic, auth.Length == 0 ? "anonymous" : "unsupported-scheme");
    }

    /// <summary>CONTOSO\jdoe, jdoe@contoso.com and jdoe are the same account.</summary>
    internal static string AccountName(string login)
    {
        var slash = login.LastIndexOf('\\');
        if (slash >= 0) login = login[(slash + 1)..];
        var at = login.IndexOf('@');
        return at >= 0 ? login[..at] : login;
    }

    private async Task<string?> RefuseAsync(HttpContext ctx, RecordedRequest rec, bool basic, string why)
    {
        rec.AuthNote = why;
        if (!await ReadOrDropBodyAsync(ctx, rec)) return null;
        ctx.Response.StatusCode = 401;
        var challenges = new List<string> { "Negotiate", "NTLM" };
        if (basic) challenges.Add("Basic realm=\"mail.contoso.com\"");
        ctx.Response.Headers.WWWAuthenticate = challenges.ToArray();
        await WriteUnauthorizedBodyAsync(ctx);
        await CloseIfBodyDroppedAsync(ctx, rec);
        return null;
    }

    /// <summary>
    /// Like IIS with a body it will not read: the answer goes out, then the connection is closed under the rest. The close
    /// lingers a moment, as http.sys's does: a reset right behind the answer makes the peer's kernel drop the answer unread.
    /// </summary>
    private static async Task CloseIfBodyDroppedAsync(HttpContext ctx, RecordedRequest rec)
    {
        if (rec.BodyRead) return;
        await ctx.Response.CompleteAsync();
        await Task.Delay(250);
        ctx.Abort();
    }

    /// <summary>Reads a small body before a 401 (so the connection can carry on); a large one is left and the connection closed.</summary>
    private async Task<bool> ReadOrDropBodyAsync(HttpContext ctx, RecordedRequest rec)
    {
        var length = ctx.Request.ContentLength;
        if (length is > MaxBodyReadOnRefusal || (length is null && ctx.Request.Headers.TransferEncoding.Count > 0 && ctx.Request.Method.StartsWith("RPC_", StringComparison.Ordinal)))
        {
            ctx.Response.Headers.Connection = "close";
            return true;
        }
        return await ReadBodyAsync(ctx, rec) is not null;
    }

    private static Task WriteUnauthorizedBodyAsync(HttpContext ctx)
    {
        ctx.Response.ContentType = "text/html";
        return ctx.Response.WriteAsync("<!DOCTYPE html><html><head><title>401 - Unauthorized: Access is denied due to invalid credentials.</title></head><body><h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2></body></html>");
    }
}
