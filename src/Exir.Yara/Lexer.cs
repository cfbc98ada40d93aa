using System.Globalization;
using System.Text;

namespace Exir.Yara;

internal enum Tok
{
    Eof, Ident, StringId, CountId, OffsetId, LengthId, Int, Float, Text, Regex, Hex,
    LBrace, RBrace, LParen, RParen, LBracket, RBracket, Colon, Assign, Comma, Dot, DotDot,
    Eq, Ne, Lt, Le, Gt, Ge, Plus, Minus, Star, Backslash, Percent, Amp, Pipe, Caret, Tilde, Shl, Shr,
    Error,
}

internal readonly record struct Token(Tok Kind, string Text, int Line, long Int = 0, double Float = 0, byte[]? Bytes = null)
{
    public bool Is(string keyword) => Kind == Tok.Ident && Text == keyword;
    public override string ToString() => Kind switch
    {
        Tok.Eof => "end of file",
        Tok.Text => "text string",
        Tok.Regex => "regular expression",
        Tok.Hex => "hex string",
        _ => $"'{Text}'",
    };
}

/// <summary>Turns YARA rule source into tokens. Hex strings and regexes are single tokens so braces stay balanced.</summary>
internal sealed class Lexer
{
    private readonly string _src;
    private int _pos;
    private int _line = 1;
    private Tok _prev = Tok.Eof;

    public Lexer(string src) => _src = src;

    public List<Token> All()
    {
        var list = new List<Token>();
        while (true)
        {
            var t = Next();
            list.Add(t);
            _prev = t.Kind;
            if (t.Kind == Tok.Eof) return list;
        }
    }

    private char Cur => _pos < _src.Length ? _src[_pos] : '\0';
    private char At(int k) => _pos + k < _src.Length ? _src[_pos + k] : '\0';

    private Token Next()
    {
        SkipTrivia();
        if (_pos >= _src.Length) return new Token(Tok.Eof, "", _line);
        int line = _line;
        char c = Cur;
        if (char.IsAsciiLetter(c) || c == '_')
        {
            int s = _pos;
            while (char.IsAsciiLetterOrDigit(Cur) || Cur == '_') _pos++;
            return new Token(Tok.Ident, _src[s.._pos], line);
        }
        if (char.IsAsciiDigit(c)) return Number(line);
        switch (c)
        {
            case '$': return IdLike(Tok.StringId, '$', line, allowStar: true);
            case '#': return IdLike(Tok.CountId, '#', line, false);
            case '@': return IdLike(Tok.OffsetId, '@', line, false);
            case '!':
                if (At(1) == '=') { _pos += 2; return new Token(Tok.Ne, "!=", line); }
                return IdLike(Tok.LengthId, '!', line, false);
            case '"': return TextString(line);
            case '/': return RegexLiteral(line);
            case '{':
                if (_prev == Tok.Assign) return HexString(line);
                _pos++; return new Token(Tok.LBrace, "{", line);
            case '}': _pos++; return new Token(Tok.RBrace, "}", line);
            case '(': _pos++; return new Token(Tok.LParen, "(", line);
            case ')': _pos++; return new Token(Tok.RParen, ")", line);
            case '[': _pos++; return new Token(Tok.LBracket, "[", line);
            case ']': _pos++; return new Token(Tok.RBracket, "]", line);
            case ':': _pos++; return new Token(Tok.Colon, ":", line);
            case ',': _pos++; return new Token(Tok.Comma, ",", line);
            case '.':
                if (At(1) == '.') { _pos += 2; return new Token(Tok.DotDot, "..", line); }
                _pos++; return new Token(Tok.Dot, ".", line);
            case '=':
                if (At(1) == '=') { _pos += 2; return new Token(Tok.Eq, "==", line); }
                _pos++; return new Token(Tok.Assign, "=", line);
            case '<':
                if (At(1) == '=') { _pos += 2; return new Token(Tok.Le, "<=", line); }
                if (At(1) == '<') { _pos += 2; return new Token(Tok.Shl, "<<", line); }
                _pos++; return new Token(Tok.Lt, "<", line);
            case '>':
                if (At(1) == '=') { _pos += 2; return new Token(Tok.Ge, ">=", line); }
                if (At(1) == '>') { _pos += 2; return new Token(Tok.Shr, ">>", line); }
                _pos++; return new Token(Tok.Gt, ">", line);
            case '+': _pos++; return new Token(Tok.Plus, "+", line);
            case '-': _pos++; return new Token(Tok.Minus, "-", line);
            case '*': _pos++; return new Token(Tok.Star, "*", line);
            case '\\': _pos++; return new Token(Tok.Backslash, "\\", line);
            case '%': _pos++; return new Token(Tok.Percent, "%", line);
            case '&': _pos++; return new Token(Tok.Amp, "&", line);
            case '|': _pos++; return new Token(Tok.Pipe, "|", line);
            case '^': _pos++; return new Token(Tok.Caret, "^", line);
            case '~': _pos++; return new Token(Tok.Tilde, "~", line);
        }
        _pos++;
        return new Token(Tok.Error, $"unexpected character '{c}'", line);
    }

    private void SkipTrivia()
    {
        while (_pos < _src.Length)
        {
            char c = Cur;
            if (c == '\n') { _line++; _pos++; }
            else if (char.IsWhiteSpace(c) || c == '\uFEFF') _pos++;
            else if (c == '/' && At(1) == '/') { while (_pos < _src.Length && Cur != '\n') _pos++; }
            else if (c == '/' && At(1) == '*')
            {
                _pos += 2;
                while (_pos < _src.Length && !(Cur == '*' && At(1) == '/')) { if (Cur == '\n') _line++; _pos++; }
                _pos = Math.Min(_src.Length, _pos + 2);
            }
            else return;
        }
    }

    private Token IdLike(Tok kind, char sigil, int line, bool allowStar)
    {
        int s = _pos++;
        while (char.IsAsciiLetterOrDigit(Cur) || Cur == '_') _pos++;
        if (allowStar && Cur == '*') _pos++;
        return new Token(kind, _src[s.._pos], line);
    }

    private Token Number(int line)
    {
        int s = _pos;
        if (Cur == '0' && (At(1) == 'x' || At(1) == 'X'))
        {
            _pos += 2;
            while (char.IsAsciiHexDigit(Cur)) _pos++;
            // Parsed unsigned, so 0x8000000000000000 and above are an overflow (as in yara), not a negative number.
            if (!ulong.TryParse(_src.AsSpan(s + 2, _pos - s - 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hv))
                return new Token(Tok.Error, "invalid hex number " + _src[s.._pos], line);
            if (hv > long.MaxValue) return new Token(Tok.Error, $"integer overflow in \"{_src[s.._pos]}\"", line);
            return new Token(Tok.Int, _src[s.._pos], line, (long)hv);
        }
        if (Cur == '0' && At(1) == 'o')
        {
            _pos += 2;
            long ov = 0;
            bool overflow = false;
            while (Cur is >= '0' and <= '7')
            {
                if (ov > (long.MaxValue - (Cur - '0')) / 8) overflow = true;
                else ov = ov * 8 + (Cur - '0');
                _pos++;
            }
            if (overflow) return new Token(Tok.Error, $"integer overflow in \"{_src[s.._pos]}\"", line);
            return new Token(Tok.Int, _src[s.._pos], line, ov);
        }
        while (char.IsAsciiDigit(Cur)) _pos++;
        if (Cur == '.' && char.IsAsciiDigit(At(1)))
        {
            _pos++;
            while (char.IsAsciiDigit(Cur)) _pos++;
            return new Token(Tok.Float, _src[s.._pos], line, 0, double.Parse(_src.AsSpan(s, _pos - s), CultureInfo.InvariantCulture));
        }
        if (!long.TryParse(_src.AsSpan(s, _pos - s), NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            return new Token(Tok.Error, "number too large " + _src[s.._pos], line);
        long unit = 1;
        if (Cur == 'K' && At(1) == 'B') { _pos += 2; unit = 1024; }
        else if (Cur == 'M' && At(1) == 'B') { _pos += 2; unit = 1024 * 1024; }
        if (v > long.MaxValue / unit) return new Token(Tok.Error, $"integer overflow in \"{_src[s.._pos]}\"", line);
        return new Token(Tok.Int, _src[s.._pos], line, v * unit);
    }

    private Token TextString(int line)
    {
        _pos++;
        // Most strings are plain ASCII without escapes: their bytes are their characters.
        int close = _pos;
        while (close < _src.Length && _src[close] is not ('"' or '\\' or '\n') && _src[close] < 0x80) close++;
        if (close < _src.Length && _src[close] == '"')
        {
            var text = _src.Substring(_pos - 1, close - _pos + 2);
            var plain = Encoding.ASCII.GetBytes(_src, _pos, close - _pos);
            _pos = close + 1;
            return new Token(Tok.Text, text, line, Bytes: plain);
        }
        var bytes = new List<byte>();
        while (true)
        {
            if (_pos >= _src.Length || Cur == '\n') return new Token(Tok.Error, "unterminated string", line);
            char c = Cur;
            if (c == '"') { _pos++; break; }
            if (c == '\\')
            {
                char e = At(1);
                _pos += 2;
                switch (e)
                {
                    case '"': bytes.Add((byte)'"'); break;
                    case '\\': bytes.Add((byte)'\\'); break;
                    case 'n': bytes.Add(10); break;
                    case 't': bytes.Add(9); break;
                    case 'r': bytes.Add(13); break;
                    case 'x':
                        if (!char.IsAsciiHexDigit(Cur) || !char.IsAsciiHexDigit(At(1)))
                            return Fail("illegal escape sequence in string", line);
                        bytes.Add((byte)Convert.ToInt32(_src.Substring(_pos, 2), 16));
                        _pos += 2;
                        break;
                    default: return Fail($"illegal escape sequence \\{e}", line);
                }
                continue;
            }
            // Rule files are UTF-8: non-ASCII characters stand for their UTF-8 bytes, as in yara.
            if (c < 0x80) bytes.Add((byte)c);
            else
            {
                int len = char.IsSurrogate(c) ? 2 : 1;
                bytes.AddRange(Encoding.UTF8.GetBytes(_src.Substring(_pos, Math.Min(len, _src.Length - _pos))));
                _pos += len;
                continue;
            }
            _pos++;
        }
        return new Token(Tok.Text, "\"" + Encoding.Latin1.GetString(bytes.ToArray()) + "\"", line, Bytes: bytes.ToArray());
    }

    private Token Fail(string msg, int line)
    {
        while (_pos < _src.Length && Cur != '\n') _pos++;
        return new Token(Tok.Error, msg, line);
    }

    private Token RegexLiteral(int line)
    {
        _pos++;
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _src.Length || Cur == '\n') return new Token(Tok.Error, "unterminated regular expression", line);
            char c = Cur;
            if (c == '\\' && At(1) != '\n' && _pos + 1 < _src.Length)
            {
                sb.Append(c).Append(At(1));
                _pos += 2;
                continue;
            }
            if (c == '/') { _pos++; break; }
            sb.Append(c);
            _pos++;
        }
        var flags = new StringBuilder();
        while (Cur is 'i' or 's') { flags.Append(Cur); _pos++; }
        // Text holds the pattern, Bytes (as ASCII) the flags.
        return new Token(Tok.Regex, sb.ToString(), line, Bytes: Encoding.ASCII.GetBytes(flags.ToString()));
    }

    private Token HexString(int line)
    {
        _pos++;
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _src.Length) return new Token(Tok.Error, "unterminated hex string", line);
            char c = Cur;
            if (c == '}') { _pos++; break; }
            if (c == '/' && At(1) == '/') { while (_pos < _src.Length && Cur != '\n') _pos++; continue; }
            if (c == '/' && At(1) == '*')
            {
                _pos += 2;
                while (_pos < _src.Length && !(Cur == '*' && At(1) == '/')) { if (Cur == '\n') _line++; _pos++; }
                _pos = Math.Min(_src.Length, _pos + 2);
                continue;
            }
            if (c == '\n') _line++;
            sb.Append(c);
            _pos++;
        }
        return new Token(Tok.Hex, sb.ToString(), line);
    }
}
