-- One request, sent again and again: `-- METHOD PATH [HEADER VALUE]... [--body BODY]`.
-- No response() function, so wrk does not parse answers.

function init(args)
  wrk.method = args[1]
  wrk.path = args[2]
  local i = 3
  while i <= #args do
    if args[i] == "--body" then
      wrk.body = args[i + 1]
    else
      wrk.headers[args[i]] = args[i + 1]
    end
    i = i + 2
  end
end
