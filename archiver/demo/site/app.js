// Linimasa demo client: after `load`, insert the post's photos from the embedded
// initial state and fetch the replies from the API, the way real platforms
// hydrate a server-rendered post page.
(function () {
  "use strict";

  var numberFormat = new Intl.NumberFormat("id-ID");

  function readInitialState() {
    var node = document.getElementById("initial-state");
    return node ? JSON.parse(node.textContent) : { post: { id: "1", media: [] } };
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function insertMedia(post) {
    var grid = document.querySelector('[data-role="media"]');
    if (!grid) return;
    grid.classList.add("count-" + post.media.length);
    post.media.forEach(function (item, index) {
      var link = el("a", "media-item");
      link.href = "/post/" + post.id + "/photo/" + (index + 1);
      var img = document.createElement("img");
      img.src = item.src;
      img.alt = item.alt;
      img.width = item.width;
      img.height = item.height;
      img.decoding = "async";
      img.addEventListener("load", function () {
        link.dataset.loaded = "true";
        if (grid.querySelectorAll('[data-loaded="true"]').length === post.media.length) {
          grid.dataset.state = "loaded";
        }
      });
      link.appendChild(img);
      grid.appendChild(link);
    });
  }

  function renderReply(reply) {
    var article = el("article", "reply");
    article.setAttribute("role", "listitem");
    article.dataset.replyId = reply.id;
    var profile = "/" + reply.author.handle;

    var avatar = el("a", "avatar initials", reply.author.initials);
    avatar.href = profile;
    avatar.tabIndex = -1;
    avatar.style.backgroundColor = reply.author.color;
    article.appendChild(avatar);

    var body = el("div", "reply-body");
    var head = el("header", "reply-head");
    var name = el("a", "display-name", reply.author.name);
    name.href = profile;
    var handle = el("a", "handle", "@" + reply.author.handle);
    handle.href = profile;
    var time = el("time", "", reply.display_time);
    time.dateTime = reply.created_at;
    head.append(name, handle, el("span", "dot", "\u00b7"), time);

    var text = el("p", "reply-text", reply.text);
    text.lang = "id";
    var likes = el("span", "reply-likes", "\u2665 " + numberFormat.format(reply.likes));
    likes.dataset.count = reply.likes;

    body.append(head, text, likes);
    article.appendChild(body);
    return article;
  }

  function loadReplies(postId) {
    var section = document.querySelector(".replies");
    var status = section.querySelector(".replies-status");
    var list = section.querySelector(".reply-list");
    section.dataset.state = "loading";
    fetch("/api/replies?post=" + encodeURIComponent(postId), { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        data.replies.forEach(function (reply) { list.appendChild(renderReply(reply)); });
        status.textContent = numberFormat.format(data.count) + " balasan";
        section.dataset.state = "loaded";
      })
      .catch(function (error) {
        status.textContent = "Balasan gagal dimuat. Coba lagi nanti.";
        section.dataset.state = "error";
        console.error("replies:", error);
      });
  }

  window.addEventListener("load", function () {
    var state = readInitialState();
    insertMedia(state.post);
    loadReplies(state.post.id);
  });
})();
