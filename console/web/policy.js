// Policy documents: templates (the AWS examples) and locating an error
// message at its line of the text.

// lineOf is the 1-based line of offset pos in text.
export function lineOf(text, pos) {
  return text.slice(0, Math.max(0, pos)).split('\n').length;
}

// syntaxLine finds the line of a JSON.parse error, or 0.
export function syntaxLine(text, err) {
  const m = /line (\d+)/.exec(err.message);
  if (m) return Number(m[1]);
  const p = /position (\d+)/.exec(err.message);
  return p ? lineOf(text, Number(p[1])) : 0;
}

// parseWithPositions parses JSON keeping where each value starts:
// {type, start, end, value | keys: [{key, keyStart, node}] | items: [node]}.
export function parseWithPositions(text) {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\r\n'.includes(text[i])) i++; };
  const str = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const value = () => {
    ws();
    const start = i, c = text[i];
    if (c === '{') {
      i++;
      const keys = [];
      ws();
      if (text[i] === '}') { i++; return { type: 'object', start, end: i, keys }; }
      for (;;) {
        ws();
        const keyStart = i, key = str();
        ws(); i++; // ':'
        const node = value();
        keys.push({ key, keyStart, node });
        ws();
        if (text[i++] === '}') return { type: 'object', start, end: i, keys };
      }
    }
    if (c === '[') {
      i++;
      const items = [];
      ws();
      if (text[i] === ']') { i++; return { type: 'array', start, end: i, items }; }
      for (;;) {
        items.push(value());
        ws();
        if (text[i++] === ']') return { type: 'array', start, end: i, items };
      }
    }
    if (c === '"') return { type: 'string', start, value: str(), end: i };
    while (i < text.length && !',}] \t\r\n'.includes(text[i])) i++;
    return { type: 'scalar', start, end: i };
  };
  return value();
}

// serverErrorLine places a MalformedPolicy message ("policy: statement 1
// ("Sid"): Action: invalid action "s4:Get"", "Policy has invalid
// resource: statement 0: arn:…") at a line of text, or 0.
export function serverErrorLine(text, message) {
  let root;
  try {
    JSON.parse(text);
    root = parseWithPositions(text);
  } catch (_) {
    return 0;
  }
  const sm = /statement (\d+)/.exec(message);
  const key = (obj, name) => obj && obj.type === 'object' ? obj.keys.find(k => k.key.toLowerCase() === name.toLowerCase()) : undefined;
  const stmts = key(root, 'Statement');
  let scope = root;
  if (sm && stmts) {
    const n = Number(sm[1]);
    scope = stmts.node.type === 'array' ? stmts.node.items[n] : (n === 0 ? stmts.node : undefined);
    if (!scope) return lineOf(text, stmts.keyStart);
  }
  const span = text.slice(scope.start, scope.end);
  // The offending value: the last quoted string, else what follows the
  // statement number.
  const quoted = [...message.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(m => m[1]);
  const tail = sm ? message.slice(sm.index + sm[0].length).replace(/^:\s*/, '').split(' ')[0] : '';
  for (const v of [quoted[quoted.length - 1], tail]) {
    if (!v) continue;
    const at = span.indexOf(JSON.stringify(v));
    if (at >= 0) return lineOf(text, scope.start + at);
  }
  const em = /: (Version|Id|Statement|Sid|Effect|Principal|NotPrincipal|Action|NotAction|Resource|NotResource|Condition): /.exec(message);
  const el = em && key(scope, em[1]);
  if (el) return lineOf(text, el.keyStart);
  return lineOf(text, scope.start);
}

// checkPolicy validates JSON syntax in the browser; the server validates
// the rest. It returns {line, message} or null.
export function checkSyntax(text) {
  try {
    JSON.parse(text);
    return null;
  } catch (e) {
    return { line: syntaxLine(text, e), message: e.message };
  }
}

const doc = statements => JSON.stringify({ Version: '2012-10-17', Statement: statements }, null, 2);

// identityTemplates are the AWS IAM examples for S3, adapted to a bucket.
export function identityTemplates(bucket = 'BUCKET') {
  const b = 'arn:aws:s3:::' + bucket;
  return {
    'Read-only access to a bucket': doc([
      { Sid: 'ListBucket', Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: b },
      { Sid: 'ReadObjects', Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: b + '/*' },
    ]),
    'Read and write a bucket': doc([
      { Sid: 'ListBucket', Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketVersions'], Resource: b },
      { Sid: 'ReadWriteObjects', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: b + '/*' },
    ]),
    'Home folder per user (${aws:username})': doc([
      { Sid: 'ListHome', Effect: 'Allow', Action: 's3:ListBucket', Resource: b,
        Condition: { StringLike: { 's3:prefix': ['', 'home/', 'home/${aws:username}/*'] } } },
      { Sid: 'OwnFolder', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: b + '/home/${aws:username}/*' },
    ]),
    'List all buckets': doc([{ Sid: 'ListAll', Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }]),
    'Deny deletes': doc([{ Sid: 'NoDeletes', Effect: 'Deny', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Resource: '*' }]),
    'Cluster monitoring (admin read)': doc([{ Sid: 'Monitor', Effect: 'Allow', Action: ['admin:ServerInfo', 'admin:HealStatus', 'admin:Prometheus'], Resource: '*' }]),
  };
}

// bucketTemplates are the AWS bucket policy examples.
export function bucketTemplates(bucket, account) {
  const b = 'arn:aws:s3:::' + bucket;
  return {
    'Public read of a folder': doc([{ Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: b + '/public/*' }]),
    'Deny requests without TLS': doc([{ Sid: 'TLSOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [b, b + '/*'],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } } }]),
    'Grant a user read access': doc([{ Sid: 'UserRead', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::' + account + ':user/USERNAME' },
      Action: ['s3:GetObject', 's3:ListBucket'], Resource: [b, b + '/*'] }]),
    'Allow only from an address range': doc([{ Sid: 'IPFence', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [b, b + '/*'],
      Condition: { NotIpAddress: { 'aws:SourceIp': '192.0.2.0/24' } } }]),
  };
}

// publicReadSid names the statement the public-read toggle writes for a
// prefix.
export function publicReadSid(prefix) {
  return 'ConsolePublicRead' + Array.from(new TextEncoder().encode(prefix), b => b.toString(16).padStart(2, '0')).join('').slice(0, 180);
}

// withPublicRead returns the policy text with the prefix's public-read
// statement added (on) or removed (off); null when no statement is left.
export function withPublicRead(policyText, bucket, prefix, on) {
  const p = policyText ? JSON.parse(policyText) : { Version: '2012-10-17', Statement: [] };
  if (!Array.isArray(p.Statement)) p.Statement = p.Statement ? [p.Statement] : [];
  const sid = publicReadSid(prefix);
  p.Statement = p.Statement.filter(s => s.Sid !== sid);
  if (on) p.Statement.push({ Sid: sid, Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::' + bucket + '/' + prefix + '*' });
  return p.Statement.length ? JSON.stringify(p, null, 2) : null;
}

export function hasPublicRead(policyText, prefix) {
  if (!policyText) return false;
  try {
    const p = JSON.parse(policyText);
    return [].concat(p.Statement || []).some(s => s.Sid === publicReadSid(prefix));
  } catch (_) {
    return false;
  }
}
