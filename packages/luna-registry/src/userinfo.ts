// `scheme://` or `//`, then the userinfo up to the last `@` of the authority.
const USERINFO = /^((?:[a-z][a-z\d+.-]*:)?\/\/)[^/?#]*@/i

/**
 * `url` without the `user:password@` of an absolute-form request target
 * (`GET http://user:pass@host/path HTTP/1.1`), for logs and messages: a client may put
 * credentials there, and they must not be written anywhere.
 */
export function withoutUserinfo (url: string): string {
  return url.replace(USERINFO, '$1')
}
