/*
 * The usage spool: records Redis could not take are appended, as raw
 * RESP commands, to <spool>/usage-<pid>.resp; once Redis is back they are
 * read into the queue again (a worker's own file, or one a gone process
 * left), so nothing is lost while Redis is away.
 */

#include "ngx_http_sluice_usage.h"


#define NGX_HTTP_SLUICE_USAGE_RBUF       65536  /* replay read buffer */
#define NGX_HTTP_SLUICE_USAGE_MAX_ARGS   1024


static ngx_int_t ngx_http_sluice_usage_spool_open(
    ngx_http_sluice_usage_t *u);
static ngx_int_t ngx_http_sluice_usage_replay_open(
    ngx_http_sluice_usage_t *u);
static ngx_int_t ngx_http_sluice_usage_replay_take(
    ngx_http_sluice_usage_t *u, ngx_str_t *name);
static ngx_int_t ngx_http_sluice_usage_replay_read(
    ngx_http_sluice_usage_t *u);
static void ngx_http_sluice_usage_replay_done(ngx_http_sluice_usage_t *u,
    ngx_uint_t bad);
static ssize_t ngx_http_sluice_usage_resp_len(u_char *p, size_t len);
static ngx_int_t ngx_http_sluice_usage_resp_int(u_char *p, size_t len,
    size_t *pos, u_char c);
static ngx_inline ngx_uint_t ngx_http_sluice_usage_room(
    ngx_http_sluice_usage_t *u);


ngx_int_t
ngx_http_sluice_usage_spool_init(ngx_http_sluice_usage_t *u, ngx_log_t *log)
{
    size_t      len;
    ngx_str_t  *dir;

    dir = &u->mcf->spool;
    len = dir->len + sizeof("/replay-.resp") + NGX_INT64_LEN;

    u->spool_path = ngx_alloc(len, log);
    u->replay_path = ngx_alloc(len, log);
    u->rbuf = ngx_alloc(NGX_HTTP_SLUICE_USAGE_RBUF, log);

    if (u->spool_path == NULL || u->replay_path == NULL || u->rbuf == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(u->spool_path, "%V/usage-%P.resp%Z", dir, ngx_pid);
    ngx_sprintf(u->replay_path, "%V/replay-%P.resp%Z", dir, ngx_pid);

    return NGX_OK;
}


void
ngx_http_sluice_usage_spool_done(ngx_http_sluice_usage_t *u)
{
    if (u->spool_fd != NGX_INVALID_FILE) {
        (void) ngx_close_file(u->spool_fd);
        u->spool_fd = NGX_INVALID_FILE;
    }

    if (u->replay_fd != NGX_INVALID_FILE) {
        /* the rest of the file stays for another worker: at least once */
        (void) ngx_close_file(u->replay_fd);
        u->replay_fd = NGX_INVALID_FILE;
    }

    ngx_free(u->spool_path);
    ngx_free(u->replay_path);
    ngx_free(u->rbuf);

    u->spool_path = NULL;
    u->replay_path = NULL;
    u->rbuf = NULL;
}


/* appends the raw command to <spool>/usage-<pid>.resp */
ngx_int_t
ngx_http_sluice_usage_spool(ngx_http_sluice_usage_t *u,
    ngx_http_sluice_usage_rec_t *rec)
{
    ssize_t  n;

    if (u->spool_path == NULL) {
        return NGX_DECLINED;
    }

    if (u->spool_fd != NGX_INVALID_FILE
        || ngx_http_sluice_usage_spool_open(u) == NGX_OK)
    {
        /* the disk is bounded too: past the cap records count as lost */
        if (u->spool_size + (off_t) rec->len > u->mcf->spool_max) {
            /* the cycle's log: u->log is quietened while Redis is away */
            if (ngx_http_sluice_usage_loud(u, NGX_HTTP_SLUICE_Q_SPOOL)) {
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "sluice: usage spool \"%s\" is full "
                              "(%O bytes), records are being lost",
                              u->spool_path, u->spool_size);
            }

            return NGX_ERROR;
        }

        n = ngx_write_fd(u->spool_fd, rec->cmd, rec->len);

        if (n == (ssize_t) rec->len) {
            u->spool_size += n;
            u->stats.spooled += rec->n;
            u->spool_seen = 1;
            return NGX_OK;
        }

        /* a torn record would spoil the file for replay: cut it off */
        if (n > 0 && ftruncate(u->spool_fd, u->spool_size) == -1) {
            ngx_log_error(NGX_LOG_ERR, &u->log, ngx_errno,
                          "sluice: ftruncate(\"%s\") failed", u->spool_path);
        }

        (void) ngx_close_file(u->spool_fd);
        u->spool_fd = NGX_INVALID_FILE;
    }

    if (ngx_http_sluice_usage_loud(u, NGX_HTTP_SLUICE_Q_SPOOL)) {
        ngx_log_error(NGX_LOG_ERR, &u->log, ngx_errno,
                      "sluice: usage spool \"%s\" failed", u->spool_path);
    }

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_sluice_usage_spool_open(ngx_http_sluice_usage_t *u)
{
    ngx_file_info_t  fi;

    u->spool_fd = ngx_open_file(u->spool_path, NGX_FILE_APPEND,
                                NGX_FILE_CREATE_OR_OPEN, 0600);
    if (u->spool_fd == NGX_INVALID_FILE) {
        return NGX_ERROR;
    }

    if (ngx_fd_info(u->spool_fd, &fi) == NGX_FILE_ERROR) {
        (void) ngx_close_file(u->spool_fd);
        u->spool_fd = NGX_INVALID_FILE;
        return NGX_ERROR;
    }

    u->spool_size = ngx_file_size(&fi);

    return NGX_OK;
}


/* loads spooled records into the queue while it has room to spare */
void
ngx_http_sluice_usage_replay(ngx_http_sluice_usage_t *u)
{
    ngx_int_t  rc;

    if (u->rbuf == NULL) {
        return;
    }

    while (u->spool_seen && ngx_http_sluice_usage_room(u)) {

        if (u->replay_fd == NGX_INVALID_FILE) {
            rc = ngx_http_sluice_usage_replay_open(u);

            if (rc == NGX_DECLINED) {
                u->spool_seen = 0;
            }

            if (rc != NGX_OK) {
                return;
            }
        }

        rc = ngx_http_sluice_usage_replay_read(u);

        if (rc == NGX_AGAIN || rc == NGX_ERROR) {
            return;
        }
    }
}


/*
 * Finds a spool file this worker may replay: its own, or one left by a
 * process that is gone; it is renamed to replay-<pid>.resp first, so two
 * workers never read the same file.  NGX_DECLINED: nothing to replay.
 */
static ngx_int_t
ngx_http_sluice_usage_replay_open(ngx_http_sluice_usage_t *u)
{
    ngx_int_t  rc;
    ngx_str_t  name;
    ngx_dir_t  dir;

    if (ngx_open_dir(&u->mcf->spool, &dir) == NGX_ERROR) {
        if (ngx_http_sluice_usage_loud(u, NGX_HTTP_SLUICE_Q_SPOOL)) {
            ngx_log_error(NGX_LOG_ERR, &u->log, ngx_errno,
                          "sluice: " ngx_open_dir_n " \"%V\" failed",
                          &u->mcf->spool);
        }

        return NGX_ERROR;
    }

    rc = NGX_DECLINED;

    while (rc == NGX_DECLINED && ngx_read_dir(&dir) == NGX_OK) {
        name.data = ngx_de_name(&dir);
        name.len = ngx_de_namelen(&dir);

        rc = ngx_http_sluice_usage_replay_take(u, &name);
    }

    (void) ngx_close_dir(&dir);

    return rc;
}


/* NGX_OK: the file is open for replay; NGX_DECLINED: not this one */
static ngx_int_t
ngx_http_sluice_usage_replay_take(ngx_http_sluice_usage_t *u,
    ngx_str_t *name)
{
    u_char      *p, *last, path[NGX_MAX_PATH];
    ngx_pid_t    pid;
    ngx_uint_t   own;

    last = name->data + name->len;

    if (name->len > 11 && ngx_strncmp(name->data, "usage-", 6) == 0) {
        p = name->data + 6;

    } else if (name->len > 12 && ngx_strncmp(name->data, "replay-", 7) == 0) {
        p = name->data + 7;

    } else {
        return NGX_DECLINED;
    }

    if (ngx_strncmp(last - 5, ".resp", 5) != 0) {
        return NGX_DECLINED;
    }

    pid = (ngx_pid_t) ngx_atoi(p, last - 5 - p);
    own = (pid == ngx_pid);

    if (pid <= 0 || (!own && (kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH))) {
        return NGX_DECLINED;
    }

    if (u->mcf->spool.len + name->len + 2 > NGX_MAX_PATH) {
        return NGX_DECLINED;
    }

    ngx_sprintf(path, "%V/%V%Z", &u->mcf->spool, name);

    if (ngx_strcmp(path, u->replay_path) != 0) {

        if (own && u->spool_fd != NGX_INVALID_FILE) {
            /* later spooled records go to a new file */
            (void) ngx_close_file(u->spool_fd);
            u->spool_fd = NGX_INVALID_FILE;
        }

        if (ngx_rename_file(path, u->replay_path) == NGX_FILE_ERROR) {
            /* ENOENT: another worker took it first */
            return NGX_DECLINED;
        }
    }

    u->replay_fd = ngx_open_file(u->replay_path, NGX_FILE_RDONLY,
                                 NGX_FILE_OPEN, 0);
    if (u->replay_fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, &u->log, ngx_errno,
                      "sluice: " ngx_open_file_n " \"%s\" failed",
                      u->replay_path);
        return NGX_ERROR;
    }

    u->rpos = 0;
    u->rlen = 0;

    ngx_log_error(NGX_LOG_INFO, &u->log, 0,
                  "sluice: replaying usage spool \"%s\"", path);

    return NGX_OK;
}


/*
 * Queues records from the replay file until the queue is three quarters
 * full (NGX_AGAIN) or the file ends (NGX_DONE, the file is removed).
 */
static ngx_int_t
ngx_http_sluice_usage_replay_read(ngx_http_sluice_usage_t *u)
{
    ssize_t                      n, len;
    ngx_http_sluice_usage_rec_t  rec;

    for ( ;; ) {
        len = ngx_http_sluice_usage_resp_len(u->rbuf + u->rpos,
                                             u->rlen - u->rpos);

        if (len > 0) {
            if (!ngx_http_sluice_usage_room(u)) {
                return NGX_AGAIN;
            }

            rec.base = ngx_http_sluice_usage_rec_alloc(u, len, &rec.size);
            if (rec.base == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(rec.base, u->rbuf + u->rpos, len);
            rec.cmd = (char *) rec.base;
            rec.len = len;
            rec.n = ngx_http_sluice_usage_record_count(rec.base, len);
            u->rpos += len;

            u->records += rec.n;
            u->stats.replayed += rec.n;
            ngx_http_sluice_usage_enqueue(u, &rec);
            continue;
        }

        if (len < 0 || (u->rpos == 0 && u->rlen == NGX_HTTP_SLUICE_USAGE_RBUF))
        {
            ngx_http_sluice_usage_replay_done(u, 1);
            return NGX_DONE;
        }

        ngx_memmove(u->rbuf, u->rbuf + u->rpos, u->rlen - u->rpos);
        u->rlen -= u->rpos;
        u->rpos = 0;

        n = ngx_read_fd(u->replay_fd, u->rbuf + u->rlen,
                        NGX_HTTP_SLUICE_USAGE_RBUF - u->rlen);

        if (n == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_ERR, &u->log, ngx_errno,
                          "sluice: " ngx_read_fd_n " \"%s\" failed",
                          u->replay_path);
            return NGX_ERROR;
        }

        if (n == 0) {
            ngx_http_sluice_usage_replay_done(u, u->rlen != 0);
            return NGX_DONE;
        }

        u->rlen += n;
    }
}


/* the file is read: remove it, or set it aside when it was damaged */
static void
ngx_http_sluice_usage_replay_done(ngx_http_sluice_usage_t *u, ngx_uint_t bad)
{
    u_char  path[NGX_MAX_PATH];

    (void) ngx_close_file(u->replay_fd);
    u->replay_fd = NGX_INVALID_FILE;
    u->rpos = 0;
    u->rlen = 0;

    if (!bad) {
        if (ngx_delete_file(u->replay_path) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_ERR, &u->log, ngx_errno,
                          "sluice: " ngx_delete_file_n " \"%s\" failed",
                          u->replay_path);
        }

        return;
    }

    ngx_snprintf(path, NGX_MAX_PATH - 1, "%V/bad-%P-%T.resp%Z",
                 &u->mcf->spool, ngx_pid, ngx_time());
    path[NGX_MAX_PATH - 1] = '\0';

    ngx_log_error(NGX_LOG_ERR, &u->log, 0,
                  "sluice: damaged usage spool \"%s\" set aside as \"%s\"",
                  u->replay_path, path);

    if (ngx_rename_file(u->replay_path, path) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, &u->log, ngx_errno,
                      "sluice: " ngx_rename_file_n " \"%s\" failed",
                      u->replay_path);
    }
}


/* the queue has a quarter of its records and a command to spare */
static ngx_inline ngx_uint_t
ngx_http_sluice_usage_room(ngx_http_sluice_usage_t *u)
{
    return u->count < u->size
           && u->records < u->mcf->queue - u->mcf->queue / 4;
}


/*
 * Length of the RESP command (an array of bulk strings) at p: 0 when more
 * bytes are needed, -1 when p does not hold a command.
 */
static ssize_t
ngx_http_sluice_usage_resp_len(u_char *p, size_t len)
{
    size_t     pos;
    ngx_int_t  n, l, i;

    pos = 0;

    n = ngx_http_sluice_usage_resp_int(p, len, &pos, '*');

    if (n == NGX_AGAIN) {
        return 0;
    }

    if (n <= 0 || n > NGX_HTTP_SLUICE_USAGE_MAX_ARGS) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        l = ngx_http_sluice_usage_resp_int(p, len, &pos, '$');

        if (l == NGX_AGAIN) {
            return 0;
        }

        if (l < 0 || l > NGX_HTTP_SLUICE_USAGE_RBUF) {
            return -1;
        }

        if (len - pos < (size_t) l + 2) {
            return 0;
        }

        if (p[pos + l] != CR || p[pos + l + 1] != LF) {
            return -1;
        }

        pos += l + 2;
    }

    return pos;
}


/* "<c><digits>\r\n" at p + *pos: the number, NGX_AGAIN or NGX_ERROR */
static ngx_int_t
ngx_http_sluice_usage_resp_int(u_char *p, size_t len, size_t *pos, u_char c)
{
    size_t     i;
    ngx_int_t  n;

    i = *pos;

    if (i >= len) {
        return NGX_AGAIN;
    }

    if (p[i++] != c) {
        return NGX_ERROR;
    }

    for (n = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        n = n * 10 + (p[i] - '0');

        if (n > 16 * 1024 * 1024) {
            return NGX_ERROR;
        }
    }

    if (len - i < 2) {
        return NGX_AGAIN;
    }

    if (i == *pos + 1 || p[i] != CR || p[i + 1] != LF) {
        return NGX_ERROR;
    }

    *pos = i + 2;

    return n;
}
